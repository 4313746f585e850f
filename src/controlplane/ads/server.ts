/**
 * The ADS server (envoy.service.discovery.v3.AggregatedDiscoveryService, state of the world) for
 * gatehouse replicas and Envoy.
 *
 * Per stream and per type URL it keeps what the client subscribed to (names, or everything for the
 * wildcard types CDS/LDS), what was last sent (nonce, version, a digest per resource) and what the
 * client said about it: an ACK moves its acknowledged version; a NACK (`error_detail`) is recorded
 * and logged, and the same content is not sent again — the client keeps its last good version until
 * the registry changes. A request with a stale nonce is ignored, as the protocol says.
 *
 * `setSnapshot` pushes to every subscriber whose view changed (clusters and endpoints before routes),
 * so an etcd change reaches every replica within the compile debounce plus one round trip. Before
 * the first snapshot, requests wait; afterwards the last snapshot is served whatever the store does.
 * Delta xDS is not implemented (grpc-js answers UNIMPLEMENTED).
 */
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import * as grpc from '@grpc/grpc-js';
import { grpcService, TypeUrls, type AnyMessage } from '../../grpc/protos.ts';
import type { Logger } from '../log.ts';
import { PUSH_ORDER, type PackedResource, type Snapshot } from './snapshot.ts';

interface DiscoveryRequest {
  version_info: string;
  node: { id: string; cluster: string } | null;
  resource_names: string[];
  type_url: string;
  response_nonce: string;
  error_detail: { code: number; message: string } | null;
}

interface DiscoveryResponse {
  version_info: string;
  resources: AnyMessage[];
  type_url: string;
  nonce: string;
  control_plane: { identifier: string };
}

type AdsCall = grpc.ServerDuplexStream<DiscoveryRequest, DiscoveryResponse>;

/** Types where an empty subscription means "everything" (the xDS protocol's wildcard). */
const WILDCARD_TYPES = new Set<string>([TypeUrls.cluster, TypeUrls.listener]);
const KNOWN_TYPES = new Set<string>(PUSH_ORDER);

export interface NackRecord {
  version: string;
  message: string;
  at: number;
}

/** What the registry pages show for one subscriber. */
export interface SubscriberSummary {
  id: number;
  node: string;
  cluster: string;
  peer: string;
  connectedAt: number;
  types: Array<{
    typeUrl: string;
    subscribed: number | 'all';
    sentVersion: string | null;
    ackedVersion: string | null;
    nack: NackRecord | null;
  }>;
}

interface TypeState {
  names: Set<string> | null; // null = wildcard
  sent: Map<string, string> | null; // name → digest of what was last sent
  lastNonce: string;
  sentVersion: string | null;
  ackedVersion: string | null;
  nack: NackRecord | null;
  answered: boolean;
}

interface Subscriber {
  id: number;
  call: AdsCall;
  node: string;
  cluster: string;
  peer: string;
  connectedAt: number;
  types: Map<string, TypeState>;
  nonce: number;
  /** The stream's buffer is full: pushes wait for 'drain' and then send only the latest state. */
  blocked: boolean;
}

export interface AdsServerOptions {
  host: string;
  port: number;
  tls?: { certFile: string; keyFile: string; caFile?: string };
}

export class AdsServer {
  private readonly server = new grpc.Server({
    'grpc.keepalive_time_ms': 30_000,
    'grpc.keepalive_timeout_ms': 10_000,
    'grpc.keepalive_permit_without_calls': 1,
    'grpc.http2.min_ping_interval_without_data_ms': 5_000,
  });
  private readonly subscribers = new Set<Subscriber>();
  private snapshot: Snapshot | null = null;
  private nextId = 1;
  private readonly identifier = `gatehouse-control-plane/${hostname()}/${process.pid}`;
  private readonly nackListeners: Array<(s: SubscriberSummary, typeUrl: string, nack: NackRecord) => void> = [];
  boundPort = 0;

  constructor(private readonly log: Logger) {
    const ads = grpcService('envoy.service.discovery.v3.AggregatedDiscoveryService');
    this.server.addService(ads.service, {
      StreamAggregatedResources: (call: AdsCall) => this.onStream(call),
    });
  }

  async listen(opts: AdsServerOptions): Promise<number> {
    const creds = opts.tls
      ? grpc.ServerCredentials.createSsl(
          opts.tls.caFile ? readFileSync(opts.tls.caFile) : null,
          [{ private_key: readFileSync(opts.tls.keyFile), cert_chain: readFileSync(opts.tls.certFile) }],
          opts.tls.caFile !== undefined,
        )
      : grpc.ServerCredentials.createInsecure();
    const host = opts.host.includes(':') ? `[${opts.host}]` : opts.host;
    this.boundPort = await new Promise<number>((resolve, reject) =>
      this.server.bindAsync(`${host}:${opts.port}`, creds, (err, port) => (err ? reject(err) : resolve(port))),
    );
    return this.boundPort;
  }

  async close(): Promise<void> {
    for (const s of this.subscribers) s.call.end();
    await new Promise<void>((resolve) => {
      const force = setTimeout(() => {
        this.server.forceShutdown();
        resolve();
      }, 2_000);
      this.server.tryShutdown(() => {
        clearTimeout(force);
        resolve();
      });
    });
  }

  onNack(listener: (s: SubscriberSummary, typeUrl: string, nack: NackRecord) => void): void {
    this.nackListeners.push(listener);
  }

  currentVersion(): string | null {
    return this.snapshot?.version ?? null;
  }

  /** Publishes a new snapshot and pushes it to every subscriber whose resources changed. */
  setSnapshot(snapshot: Snapshot): void {
    this.snapshot = snapshot;
    for (const sub of this.subscribers) {
      for (const typeUrl of PUSH_ORDER) {
        const ts = sub.types.get(typeUrl);
        if (ts) this.respond(sub, typeUrl, ts, !ts.answered);
      }
    }
  }

  subscriberSummaries(): SubscriberSummary[] {
    return [...this.subscribers].map((s) => this.summary(s));
  }

  // ───────────────────────────── one stream ─────────────────────────────

  private onStream(call: AdsCall): void {
    const sub: Subscriber = { id: this.nextId++, call, node: '', cluster: '', peer: call.getPeer(), connectedAt: Date.now(), types: new Map(), nonce: 0, blocked: false };
    this.subscribers.add(sub);
    const gone = () => {
      if (this.subscribers.delete(sub)) this.log.info({ node: sub.node, peer: sub.peer }, 'xDS subscriber left');
    };
    call.on('data', (req: DiscoveryRequest) => {
      try {
        this.onRequest(sub, req);
      } catch (err) {
        this.log.error({ err, node: sub.node }, 'xDS request handling failed');
        call.destroy(err as Error);
      }
    });
    call.on('drain', () => {
      // A slow subscriber never queues a backlog of versions: it gets the latest of each type now.
      sub.blocked = false;
      for (const typeUrl of PUSH_ORDER) {
        const ts = sub.types.get(typeUrl);
        if (ts) this.respond(sub, typeUrl, ts, !ts.answered);
      }
    });
    call.on('end', () => {
      gone();
      call.end();
    });
    call.on('cancelled', gone);
    call.on('error', gone);
    call.on('close', gone);
  }

  private onRequest(sub: Subscriber, req: DiscoveryRequest): void {
    if (sub.node === '' && req.node) {
      sub.node = req.node.id || '(no id)';
      sub.cluster = req.node.cluster;
      this.log.info({ node: sub.node, cluster: sub.cluster, peer: sub.peer }, 'xDS subscriber connected');
    }
    const typeUrl = req.type_url;
    if (!KNOWN_TYPES.has(typeUrl)) {
      // Nothing of that type is served; answer with an empty set so the client does not wait.
      sub.call.write(this.response(sub, typeUrl, []));
      return;
    }
    let ts = sub.types.get(typeUrl);
    if (!ts) {
      ts = { names: null, sent: null, lastNonce: '', sentVersion: null, ackedVersion: null, nack: null, answered: false };
      sub.types.set(typeUrl, ts);
    }
    if (req.response_nonce !== '') {
      if (req.response_nonce !== ts.lastNonce) return; // stale: answers a response already superseded
      if (req.error_detail && (req.error_detail.message !== '' || req.error_detail.code !== 0)) {
        ts.nack = { version: ts.sentVersion ?? '', message: req.error_detail.message, at: Date.now() };
        this.log.warn({ node: sub.node, typeUrl, rejectedVersion: ts.sentVersion, keeps: req.version_info, error: req.error_detail.message }, 'xDS NACK');
        for (const l of this.nackListeners) l(this.summary(sub), typeUrl, ts.nack);
      } else {
        ts.ackedVersion = req.version_info;
        if (ts.nack && ts.nack.version !== req.version_info) ts.nack = null;
      }
    }
    const names = req.resource_names.length === 0 && WILDCARD_TYPES.has(typeUrl) ? null : req.resource_names.includes('*') ? null : new Set(req.resource_names);
    const changed = !sameNames(ts.names, names) || !ts.answered;
    ts.names = names;
    if (changed) this.respond(sub, typeUrl, ts, true);
  }

  /** Sends the subscriber's view of `typeUrl` when it changed (or always, with `force`). */
  private respond(sub: Subscriber, typeUrl: string, ts: TypeState, force: boolean): void {
    const snapshot = this.snapshot;
    if (snapshot === null) return; // the first snapshot will answer
    if (sub.blocked) return; // 'drain' will answer with whatever is current then
    if (ts.names !== null && ts.names.size === 0 && !WILDCARD_TYPES.has(typeUrl)) {
      ts.answered = true; // subscribed to nothing of a named type: nothing to send
      ts.sent = new Map();
      return;
    }
    const all = snapshot.resources.get(typeUrl) ?? new Map<string, PackedResource>();
    const picked: Array<[string, PackedResource]> = ts.names === null ? [...all] : [...ts.names].flatMap((n) => (all.has(n) ? [[n, all.get(n)!] as [string, PackedResource]] : []));
    const digests = new Map(picked.map(([n, r]) => [n, r.digest]));
    if (!force && ts.sent !== null && sameDigests(ts.sent, digests)) return;
    const response = this.response(sub, typeUrl, picked.map(([, r]) => r.any));
    ts.sent = digests;
    ts.lastNonce = response.nonce;
    ts.sentVersion = snapshot.version;
    ts.answered = true;
    if (!sub.call.write(response)) sub.blocked = true;
  }

  private response(sub: Subscriber, typeUrl: string, resources: AnyMessage[]): DiscoveryResponse {
    sub.nonce += 1;
    return {
      version_info: this.snapshot?.version ?? '',
      resources,
      type_url: typeUrl,
      nonce: `${sub.id}-${sub.nonce}`,
      control_plane: { identifier: this.identifier },
    };
  }

  private summary(s: Subscriber): SubscriberSummary {
    return {
      id: s.id,
      node: s.node,
      cluster: s.cluster,
      peer: s.peer,
      connectedAt: s.connectedAt,
      types: [...s.types].map(([typeUrl, t]) => ({
        typeUrl,
        subscribed: t.names === null ? 'all' : t.names.size,
        sentVersion: t.sentVersion,
        ackedVersion: t.ackedVersion,
        nack: t.nack,
      })),
    };
  }
}

function sameNames(a: Set<string> | null, b: Set<string> | null): boolean {
  if (a === null || b === null) return a === b;
  if (a.size !== b.size) return false;
  for (const n of a) if (!b.has(n)) return false;
  return true;
}

function sameDigests(a: Map<string, string>, b: Map<string, string>): boolean {
  if (a.size !== b.size) return false;
  for (const [n, d] of a) if (b.get(n) !== d) return false;
  return true;
}
