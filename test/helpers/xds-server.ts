import * as grpc from '@grpc/grpc-js';
import { grpcService, TypeUrls, type AnyMessage } from '../../src/grpc/protos.ts';
import { envoyAny } from './envoy-json.ts';

// A small state-of-the-world ADS server (envoy.service.discovery.v3.AggregatedDiscoveryService), for
// tests and for examples/xds/. It holds one version of each resource type; set() replaces a type's
// resources and pushes the new version to every stream that asked for that type. Per stream and type
// it behaves as the protocol document describes (and as go-control-plane does):
//   - a request whose response_nonce is not the last nonce sent on that stream is stale: ignored;
//   - a request is answered when the server has a version the client has not got (version_info
//     differs) or the client asks for names it was not sent yet; an ACK or NACK of the current
//     version gets no answer;
//   - a response carries only the resources the client named (Cluster: all of those it named).
// Every request is recorded (decoded, in order, with its stream number); kill() drops every stream
// and stops listening, restart() listens again on the same port with the same resources.

export interface RecordedRequest {
  readonly stream: number;
  readonly version_info: string;
  readonly resource_names: readonly string[];
  readonly type_url: string;
  readonly response_nonce: string;
  readonly error_detail: { code: number; message: string } | null;
  readonly node: Record<string, unknown> | null;
}

export interface SentResponse {
  readonly stream: number;
  readonly type_url: string;
  readonly version_info: string;
  readonly nonce: string;
  readonly names: readonly string[];
}

/** A resource as Envoy JSON (a plain object, converted by envoy-json.ts) or an already packed Any. */
export type ResourceInput = Record<string, unknown> | AnyMessage;

interface StreamType {
  names: string[];
  nonce: string;
  /** Names the client was sent at its current version. */
  sent: Set<string>;
  version: string;
}

interface Stream {
  id: number;
  call: grpc.ServerDuplexStream<Record<string, unknown>, Record<string, unknown>>;
  types: Map<string, StreamType>;
}

export interface XdsServerOptions {
  /** Listen on this port (default: any free one). */
  port?: number;
  /** Server TLS; `ca` + requireClientCert for mutual TLS. */
  tls?: { cert: Buffer; key: Buffer; ca?: Buffer; requireClientCert?: boolean };
}

const NAME_OF: Record<string, (r: Record<string, unknown>) => string> = {
  [TypeUrls.clusterLoadAssignment]: (r) => String(r.cluster_name ?? r.clusterName ?? ''),
};

export class TestXdsServer {
  readonly requests: RecordedRequest[] = [];
  readonly responses: SentResponse[] = [];
  private server: grpc.Server | null = null;
  private readonly streams = new Set<Stream>();
  private readonly resources = new Map<string, Map<string, AnyMessage>>();
  private readonly versions = new Map<string, number>();
  private readonly muted = new Set<string>();
  private streamCount = 0;
  private nonceCount = 0;
  port = 0;

  constructor(private readonly opts: XdsServerOptions = {}) {}

  get address(): string {
    return `127.0.0.1:${this.port}`;
  }

  async start(): Promise<this> {
    const server = new grpc.Server();
    server.addService(grpcService('envoy.service.discovery.v3.AggregatedDiscoveryService').service, {
      StreamAggregatedResources: (call: Stream['call']) => this.onStream(call),
      DeltaAggregatedResources: (call: grpc.ServerDuplexStream<unknown, unknown>) =>
        call.emit('error', { code: grpc.status.UNIMPLEMENTED, details: 'delta xDS is not served here' }),
    });
    const t = this.opts.tls;
    const creds = t
      ? grpc.ServerCredentials.createSsl(t.ca ?? null, [{ cert_chain: t.cert, private_key: t.key }], t.requireClientCert ?? false)
      : grpc.ServerCredentials.createInsecure();
    const wanted = this.port || this.opts.port || 0;
    // A restart may find the port still held for a moment.
    for (let attempt = 0; ; attempt++) {
      try {
        this.port = await new Promise<number>((resolve, reject) => server.bindAsync(`127.0.0.1:${wanted}`, creds, (err, p) => (err ? reject(err) : resolve(p))));
        break;
      } catch (err) {
        if (attempt >= 50) throw err;
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    this.server = server;
    return this;
  }

  /** The current version of a type ('' before the first set()). */
  version(typeUrl: string): string {
    const v = this.versions.get(typeUrl);
    return v === undefined ? '' : String(v);
  }

  /**
   * Replaces every resource of `typeUrl` and pushes the new version (a counter: "1", "2", …) to the
   * streams that asked for this type. Returns the version.
   */
  set(typeUrl: string, resources: readonly ResourceInput[]): string {
    const map = new Map<string, AnyMessage>();
    for (const r of resources) {
      const any = isAny(r) ? r : envoyAny(typeUrl, r);
      const name = isAny(r) ? `#${map.size}` : (NAME_OF[typeUrl] ?? ((x) => String(x.name ?? '')))(r);
      map.set(name, any);
    }
    return this.setPacked(typeUrl, map);
  }

  /** Like set(), with resources already packed (by name): pushing a large version costs no encoding then. */
  setPacked(typeUrl: string, resources: ReadonlyMap<string, AnyMessage>): string {
    const map = new Map(resources);
    this.resources.set(typeUrl, map);
    const v = (this.versions.get(typeUrl) ?? 0) + 1;
    this.versions.set(typeUrl, v);
    for (const s of this.streams) {
      const st = s.types.get(typeUrl);
      if (st) this.respond(s, typeUrl, st);
    }
    return String(v);
  }

  /** While muted, the server records requests of this type but never answers them (a server that is slow or lacks a resource). */
  mute(typeUrl: string, muted = true): void {
    if (muted) this.muted.add(typeUrl);
    else {
      this.muted.delete(typeUrl);
      for (const s of this.streams) {
        const st = s.types.get(typeUrl);
        if (st && st.version !== this.version(typeUrl)) this.respond(s, typeUrl, st);
      }
    }
  }

  /** Requests of one type, optionally only those after index `from`. */
  requestsOf(typeUrl: string, from = 0): RecordedRequest[] {
    return this.requests.slice(from).filter((r) => r.type_url === typeUrl);
  }

  /** Drops every stream and stops listening (the port is kept for restart()). */
  async kill(): Promise<void> {
    for (const s of this.streams) s.call.destroy(new Error('killed'));
    this.streams.clear();
    this.server?.forceShutdown();
    this.server = null;
  }

  async restart(): Promise<void> {
    await this.kill();
    await this.start();
  }

  async close(): Promise<void> {
    await this.kill();
  }

  get openStreams(): number {
    return this.streams.size;
  }

  private onStream(call: Stream['call']): void {
    const s: Stream = { id: ++this.streamCount, call, types: new Map() };
    this.streams.add(s);
    call.on('data', (req: Record<string, unknown>) => this.onRequest(s, req));
    const gone = () => this.streams.delete(s);
    call.on('end', () => {
      gone();
      call.end();
    });
    call.on('error', gone);
    call.on('cancelled', gone);
  }

  private onRequest(s: Stream, req: Record<string, unknown>): void {
    const typeUrl = String(req.type_url ?? '');
    const names = ((req.resource_names as string[] | undefined) ?? []).slice();
    const nonce = String(req.response_nonce ?? '');
    const err = req.error_detail as { code?: number; message?: string } | null | undefined;
    this.requests.push({
      stream: s.id,
      version_info: String(req.version_info ?? ''),
      resource_names: names,
      type_url: typeUrl,
      response_nonce: nonce,
      error_detail: err ? { code: Number(err.code ?? 0), message: String(err.message ?? '') } : null,
      node: (req.node as Record<string, unknown> | null) ?? null,
    });
    let st = s.types.get(typeUrl);
    if (!st) {
      st = { names: [], nonce: '', sent: new Set(), version: '' };
      s.types.set(typeUrl, st);
    }
    if (nonce !== '' && nonce !== st.nonce) return; // stale: superseded by a later response
    st.names = names;
    if (st.nonce === '') st.version = String(req.version_info ?? ''); // first request on this stream
    const current = this.version(typeUrl);
    const newNames = names.some((n) => !st.sent.has(n));
    if (current !== '' && (st.version !== current || newNames)) this.respond(s, typeUrl, st);
  }

  private respond(s: Stream, typeUrl: string, st: StreamType): void {
    if (this.muted.has(typeUrl)) return;
    const all = this.resources.get(typeUrl) ?? new Map<string, AnyMessage>();
    const wanted = new Set(st.names);
    const resources: AnyMessage[] = [];
    const names: string[] = [];
    for (const [name, any] of all) {
      if (name.startsWith('#') || wanted.has(name)) {
        resources.push(any);
        names.push(name);
      }
    }
    const nonce = String(++this.nonceCount);
    const version = this.version(typeUrl);
    st.nonce = nonce;
    st.version = version;
    st.sent = new Set(st.names);
    this.responses.push({ stream: s.id, type_url: typeUrl, version_info: version, nonce, names });
    s.call.write({ version_info: version, resources, type_url: typeUrl, nonce });
  }
}

function isAny(r: ResourceInput): r is AnyMessage {
  return typeof (r as AnyMessage).type_url === 'string' && (r as AnyMessage).value instanceof Uint8Array;
}

export async function startXdsServer(opts: XdsServerOptions = {}): Promise<TestXdsServer> {
  return new TestXdsServer(opts).start();
}
