import * as grpc from '@grpc/grpc-js';
import { grpcService } from '../grpc/protos.ts';
import { Backoff } from './backoff.ts';
import type { DiscoveryRequest, DiscoveryResponse } from './protocol.ts';

// The transport: one bidirectional StreamAggregatedResources call to the management server, over
// plain HTTP/2 or TLS (optionally mutual). When the stream ends or fails, its channel is closed and a
// fresh one is tried after an exponential, jittered backoff (backoff.ts), reset once a stream has
// delivered a response. What to send and what a response means is the client's business (client.ts).

export interface AdsTarget {
  /** host:port of the ADS server. */
  readonly server: string;
  /** TLS material (PEM), or null for plain HTTP/2. */
  readonly tls: { readonly ca?: Buffer; readonly cert?: Buffer; readonly key?: Buffer; readonly serverName?: string } | null;
}

export interface AdsStreamEvents {
  /** A new stream is open: send the subscriptions on it. */
  opened(send: (r: DiscoveryRequest) => void): void;
  /** The first response of a stream arrived: the server is there. */
  connected(): void;
  response(r: DiscoveryResponse): void;
  /** The stream ended (err null: the server closed it); another is tried after `retryInMs`. */
  closed(err: Error | null, retryInMs: number): void;
}

/** Resources can be large (a 10,000-route RouteConfiguration); the server is configured, not a client. */
const MAX_MESSAGE_BYTES = 64 * 1024 * 1024;

const CHANNEL_OPTIONS: grpc.ChannelOptions = {
  'grpc.max_receive_message_length': MAX_MESSAGE_BYTES,
  // Notice a server that vanished without closing the connection.
  'grpc.keepalive_time_ms': 30_000,
  'grpc.keepalive_timeout_ms': 10_000,
  'grpc.keepalive_permit_without_calls': 1,
};

type AdsCall = grpc.ClientDuplexStream<DiscoveryRequest, DiscoveryResponse>;

export class AdsStream {
  private client: grpc.Client | null = null;
  private call: AdsCall | null = null;
  private timer: NodeJS.Timeout | null = null;
  private closed = false;
  private readonly backoff = new Backoff();

  constructor(
    private target: AdsTarget,
    private readonly events: AdsStreamEvents,
  ) {}

  start(): void {
    this.connect();
  }

  /** Another server or new TLS material: drop the stream and connect with the new target now. */
  retarget(target: AdsTarget): void {
    this.target = target;
    this.teardown();
    this.backoff.reset();
    if (!this.closed) this.connect();
  }

  close(): void {
    this.closed = true;
    this.teardown();
  }

  private connect(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const Ads = grpcService('envoy.service.discovery.v3.AggregatedDiscoveryService');
    const t = this.target.tls;
    const creds = t ? grpc.credentials.createSsl(t.ca ?? null, t.key ?? null, t.cert ?? null) : grpc.credentials.createInsecure();
    const options = t?.serverName ? { ...CHANNEL_OPTIONS, 'grpc.ssl_target_name_override': t.serverName, 'grpc.default_authority': t.serverName } : CHANNEL_OPTIONS;
    const client = new Ads(this.target.server, creds, options);
    const call = (client as unknown as { StreamAggregatedResources(): AdsCall }).StreamAggregatedResources();
    this.client = client;
    this.call = call;
    let answered = false;
    call.on('data', (r: DiscoveryResponse) => {
      if (call !== this.call) return;
      if (!answered) {
        answered = true;
        this.backoff.reset();
        this.events.connected();
      }
      this.events.response(r);
    });
    call.on('error', (err: Error) => this.ended(call, err));
    call.on('end', () => this.ended(call, null));
    this.events.opened((r) => {
      if (call === this.call) call.write(r);
    });
  }

  private ended(call: AdsCall, err: Error | null): void {
    if (call !== this.call) return;
    this.teardown();
    if (this.closed) return;
    const delay = this.backoff.next();
    this.events.closed(err, delay);
    this.timer = setTimeout(() => this.connect(), delay);
    this.timer.unref();
  }

  private teardown(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const call = this.call;
    const client = this.client;
    this.call = null;
    this.client = null;
    call?.cancel();
    client?.close();
  }
}
