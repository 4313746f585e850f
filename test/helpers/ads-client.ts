import * as grpc from '@grpc/grpc-js';
import { grpcService, unpackAny, type AnyMessage } from '../../src/grpc/protos.ts';

// A real ADS client stream (@grpc/grpc-js) for protocol-level tests of an xDS server: send
// DiscoveryRequests, await DiscoveryResponses in order, decode their resources.

export interface DiscoveryResponse {
  version_info: string;
  resources: AnyMessage[];
  type_url: string;
  nonce: string;
}

export interface AdsTestClient {
  send(req: { type_url: string; resource_names?: string[]; version_info?: string; response_nonce?: string; error_detail?: { code: number; message: string } }): void;
  /** The next response (of `typeUrl` when given; others are kept for later calls). */
  next(typeUrl?: string, timeoutMs?: number): Promise<DiscoveryResponse>;
  /** ACKs a response (same names). */
  ack(res: DiscoveryResponse, names?: string[]): void;
  close(): void;
}

export function decode<T = any>(res: DiscoveryResponse): T[] {
  return res.resources.map((r) => unpackAny<T>(r));
}

export function adsClient(
  address: string,
  node = { id: 'test-node', cluster: 'edge' },
  credentials: grpc.ChannelCredentials = grpc.credentials.createInsecure(),
  options: grpc.ChannelOptions = {},
): AdsTestClient {
  const Ctor = grpcService('envoy.service.discovery.v3.AggregatedDiscoveryService');
  const client = new Ctor(address, credentials, { 'grpc.max_receive_message_length': 64 * 1024 * 1024, ...options });
  const stream = (client as any).StreamAggregatedResources() as grpc.ClientDuplexStream<object, DiscoveryResponse>;
  const received: DiscoveryResponse[] = [];
  let wake: (() => void) | null = null;
  let failed: Error | null = null;
  stream.on('data', (r: DiscoveryResponse) => {
    received.push(r);
    wake?.();
  });
  stream.on('error', (e: Error) => {
    failed = e;
    wake?.();
  });
  let first = true;
  const lastNames = new Map<string, string[]>();
  return {
    send(req) {
      lastNames.set(req.type_url, req.resource_names ?? []);
      stream.write({ version_info: '', response_nonce: '', resource_names: [], ...req, ...(first ? { node } : {}) });
      first = false;
    },
    async next(typeUrl, timeoutMs = 10_000) {
      const until = Date.now() + timeoutMs;
      for (;;) {
        const i = received.findIndex((r) => typeUrl === undefined || r.type_url === typeUrl);
        if (i >= 0) return received.splice(i, 1)[0]!;
        if (failed) throw failed;
        const left = until - Date.now();
        if (left <= 0) throw new Error(`no ${typeUrl ?? 'xDS'} response within ${timeoutMs} ms`);
        await new Promise<void>((r) => {
          wake = r;
          setTimeout(r, Math.min(left, 200));
        });
        wake = null;
      }
    },
    ack(res, names) {
      this.send({ type_url: res.type_url, resource_names: names ?? lastNames.get(res.type_url) ?? [], version_info: res.version_info, response_nonce: res.nonce });
    },
    close() {
      stream.cancel();
      client.close();
    },
  };
}
