import { createHash } from 'node:crypto';
import { access, constants } from 'node:fs/promises';
import type { XdsFragments } from '../config/merge.ts';
import type { AnyMessage } from '../grpc/protos.ts';
import { log } from '../observability/logger.ts';
import { VERSION } from '../version.ts';
import { AdsStream, type AdsTarget } from './ads-stream.ts';
import type { EndpointStore } from './endpoint-store.ts';
import { setVersion, xdsConnected, xdsResources, xdsUpdates, type XdsTypeLabel } from './metrics.ts';
import { TypeSubscription, XDS_TYPES, type DiscoveryRequest, type DiscoveryResponse } from './protocol.ts';
import { XdsResources } from './resources.ts';
import type { ClusterFragment } from './translate/cluster.ts';
import type { EndpointsFragment } from './translate/endpoints.ts';
import type { RouteConfigFragment } from './translate/route.ts';
import { translateResources } from './translator.ts';

// The ADS client (SPEC "xDS"): subscribes to the RouteConfigurations in `xds.routeConfigs`, then to
// the Clusters their routes name, then to the ClusterLoadAssignments of EDS clusters, on one
// state-of-the-world stream (protocol.ts). Each response is translated resource by resource (pure
// functions in translate/); valid resources are taken, invalid ones keep their last good version and
// the response is NACKed with every problem in error_detail (`<Type> <name>: <field path>: <message>`).
// EDS updates go straight to the endpoint store (and from there to the clusters, no recompile); route
// and cluster changes make a new snapshot (resources.ts decides when, after warming), handed to
// `onUpdate`. While the server is away nothing changes: the last good config keeps serving.

export interface XdsClientSettings {
  readonly target: AdsTarget;
  readonly node: { readonly id: string; readonly cluster: string };
  readonly routeConfigs: readonly string[];
  readonly initialFetchTimeoutMs: number;
  /** Clusters the YAML file defines: a route may name them without waiting for CDS. */
  readonly localClusters: ReadonlySet<string>;
  /** EDS service names of YAML clusters with `discovery.type: eds`. */
  readonly localEds: ReadonlySet<string>;
}

/** What the client hands the gateway: the fragments to serve, and whether every RouteConfiguration of `routeConfigs` is in them. */
export interface XdsSnapshot {
  readonly fragments: XdsFragments;
  readonly complete: boolean;
}

export interface XdsStatus {
  readonly server: string;
  readonly connected: boolean;
  readonly versions: Readonly<Record<XdsTypeLabel, string>>;
  readonly resources: Readonly<Record<XdsTypeLabel, number>>;
  readonly warming: readonly string[];
  readonly lastRejected: { readonly type: XdsTypeLabel; readonly message: string; readonly at: string } | null;
}

/** Features this client has (Envoy's client_features). */
const CLIENT_FEATURES = ['envoy.lb.does_not_support_overprovisioning', 'xds.config.resource-in-sotw'];

type Fragment = RouteConfigFragment | ClusterFragment | EndpointsFragment;

export class XdsClient {
  private readonly subs: Record<XdsTypeLabel, TypeSubscription>;
  private readonly resources: XdsResources;
  private readonly stream: AdsStream;
  private send: ((r: DiscoveryRequest) => void) | null = null;
  private connected = false;
  private queue: Promise<void> = Promise.resolve();
  private recheck: NodeJS.Timeout | null = null;
  private warming: readonly string[] = [];
  private lastRejected: XdsStatus['lastRejected'] = null;
  private failuresInARow = 0;
  /** Per type, a digest of the bytes of every accepted resource: a resource sent again unchanged is not decoded again. */
  private readonly digests: Record<XdsTypeLabel, Map<string, string>> = { rds: new Map(), cds: new Map(), eds: new Map() };
  private closed = false;

  constructor(
    private settings: XdsClientSettings,
    private readonly store: EndpointStore,
    private readonly onUpdate: (snapshot: XdsSnapshot) => void,
  ) {
    this.subs = {
      rds: new TypeSubscription(XDS_TYPES[0]!.url),
      cds: new TypeSubscription(XDS_TYPES[1]!.url),
      eds: new TypeSubscription(XDS_TYPES[2]!.url),
    };
    this.resources = new XdsResources(store, settings.routeConfigs, settings.localClusters, settings.localEds, settings.initialFetchTimeoutMs);
    this.subs.rds.setNames(settings.routeConfigs);
    this.resubscribe(false);
    this.stream = new AdsStream(settings.target, {
      opened: (send) => this.opened(send),
      connected: () => this.onConnected(),
      response: (r) => {
        const stream = this.send; // the ACK goes back on the stream the response came on, if it still stands
        this.queue = this.queue.then(() => this.handle(r, stream)).catch((err) => log.error({ err: (err as Error).message }, 'xDS: failed to process a response'));
      },
      closed: (err, retryInMs) => this.onClosed(err, retryInMs),
    });
  }

  start(): void {
    xdsConnected.set(0);
    this.stream.start();
  }

  /** The YAML file changed: new server or TLS material reconnects; new names re-subscribe. */
  update(next: XdsClientSettings): void {
    const prev = this.settings;
    this.settings = next;
    this.resources.localClusters = next.localClusters;
    this.resources.localEds = next.localEds;
    this.resources.timeoutMs = next.initialFetchTimeoutMs;
    if (next.routeConfigs.join('\0') !== prev.routeConfigs.join('\0')) this.resources.setRouteConfigNames(next.routeConfigs);
    const reconnect =
      next.target.server !== prev.target.server || !sameTls(next.target.tls, prev.target.tls) || next.node.id !== prev.node.id || next.node.cluster !== prev.node.cluster;
    if (this.subs.rds.setNames(next.routeConfigs) && !reconnect) this.request('rds');
    this.resubscribe(!reconnect);
    if (reconnect) {
      log.info({ server: next.target.server }, 'xDS: server, TLS material or node changed; reconnecting');
      this.stream.retarget(next.target);
    }
    this.evaluate();
  }

  close(): void {
    this.closed = true;
    if (this.recheck) clearTimeout(this.recheck);
    this.stream.close();
    this.connected = false;
    xdsConnected.set(0);
  }

  status(): XdsStatus {
    return {
      server: this.settings.target.server,
      connected: this.connected,
      versions: { rds: this.subs.rds.version, cds: this.subs.cds.version, eds: this.subs.eds.version },
      resources: this.resources.counts,
      warming: this.warming,
      lastRejected: this.lastRejected,
    };
  }

  // ───────────────────────────── stream events ─────────────────────────────

  private opened(send: (r: DiscoveryRequest) => void): void {
    this.send = send;
    let first = true;
    for (const label of ['rds', 'cds', 'eds'] as const) {
      const sub = this.subs[label];
      sub.newStream();
      // An empty first CDS request would mean "every cluster" (wildcard): ask only for names we need.
      if (sub.names.length === 0) continue;
      const req = sub.subscribe();
      if (first) req.node = this.node();
      first = false;
      send(req);
    }
  }

  private onConnected(): void {
    this.connected = true;
    xdsConnected.set(1);
    if (this.failuresInARow > 0) log.info({ server: this.settings.target.server }, 'xDS: connected again');
    else log.info({ server: this.settings.target.server }, 'xDS: connected');
    this.failuresInARow = 0;
  }

  private onClosed(err: Error | null, retryInMs: number): void {
    this.send = null;
    this.connected = false;
    xdsConnected.set(0);
    // Log the start of an outage, not every retry of it; the last good config keeps serving.
    if (++this.failuresInARow === 1) {
      log.warn({ server: this.settings.target.server, err: err?.message ?? 'stream closed by the server', retryInMs }, 'xDS: stream lost; keeping the last good config and reconnecting');
    }
  }

  private node(): Record<string, unknown> {
    return {
      id: this.settings.node.id,
      cluster: this.settings.node.cluster,
      user_agent_name: 'gatehouse',
      user_agent_version: VERSION,
      client_features: CLIENT_FEATURES,
    };
  }

  private request(label: XdsTypeLabel): void {
    const sub = this.subs[label];
    // Nothing to ask on this stream yet (never subscribed and no names): stay quiet.
    if (!this.send || (sub.names.length === 0 && !sub.requested)) return;
    this.send(sub.subscribe());
  }

  /** Recomputes the CDS and EDS names from the resources; sends the changes when `send` is true. */
  private resubscribe(send: boolean): void {
    const cds = this.resources.cdsNames();
    const eds = this.resources.edsNames();
    const cdsChanged = this.subs.cds.setNames(cds);
    const edsChanged = this.subs.eds.setNames(eds);
    this.resources.subscribed(cds, eds);
    if (send && cdsChanged) this.request('cds');
    if (send && edsChanged) this.request('eds');
  }

  // ───────────────────────────── responses ─────────────────────────────

  private async handle(r: DiscoveryResponse, stream: ((r: DiscoveryRequest) => void) | null): Promise<void> {
    if (this.closed) return;
    const type = XDS_TYPES.find((t) => t.url === r.type_url);
    if (!type) {
      log.warn({ typeUrl: r.type_url }, 'xDS: response for a type we did not ask for; ignored');
      return;
    }
    const sub = this.subs[type.label];
    const wanted = new Set(sub.names);
    const digests = this.digests[type.label];
    const unchanged = new Map<string, string>(); // digest → name of a resource we hold with exactly these bytes
    for (const [name, d] of digests) if (this.holds(type.label, name)) unchanged.set(d, name);
    const problems: string[] = [];
    const accepted: Array<{ fragment: Fragment; digest: string }> = [];
    const seen = new Set<string>();
    let same = 0;
    const fresh: AnyMessage[] = [];
    const freshDigests: string[] = [];
    for (const any of r.resources ?? []) {
      const digest = createHash('sha256').update(any.type_url).update(any.value).digest('base64');
      const known = unchanged.get(digest);
      if (known !== undefined && wanted.has(known)) {
        seen.add(known);
        same++;
        continue;
      }
      fresh.push(any);
      freshDigests.push(digest);
    }
    // Decoding and translating run in a worker thread: a large resource does not stall requests.
    const outcomes = await translateResources(type.label, type.url, fresh);
    for (const [i, o] of outcomes.entries()) {
      if (o.name === null) {
        problems.push(`${type.kind}: ${o.ok ? '' : o.errors.map((e) => e.message).join('; ')}`);
        continue;
      }
      seen.add(o.name);
      if (!wanted.has(o.name)) continue; // the protocol: resources we did not ask for are ignored
      if (!o.ok) {
        problems.push(`${type.kind} ${o.name}: ${o.errors.map((e) => (e.path === '' ? e.message : `${e.path}: ${e.message}`)).join('; ')}`);
        continue;
      }
      if (o.kind === 'cds') {
        const missing = await unreadable(o.value.files);
        if (missing.length > 0) {
          problems.push(`${type.kind} ${o.name}: transport_socket: ${missing.join(', ')}`);
          continue;
        }
      }
      accepted.push({ fragment: o.value, digest: freshDigests[i]! });
    }
    if (this.closed) return;

    for (const { fragment: f, digest } of accepted) {
      digests.set(f.name, digest);
      if (type.label === 'rds') this.resources.setRoute(f as RouteConfigFragment);
      else if (type.label === 'cds') this.resources.setCluster(f as ClusterFragment);
      else this.store.set(f.name, (f as EndpointsFragment).endpoints);
    }
    if (type.label === 'cds') {
      // State of the world: a cluster we had that the server no longer sends is gone.
      for (const name of sub.names) if (!seen.has(name) && this.resources.hasCluster(name)) this.resources.removeCluster(name);
    }
    for (const name of [...digests.keys()]) if (!wanted.has(name)) digests.delete(name);

    const previous = sub.version;
    const nonce = sub.nonce;
    const reply = (req: DiscoveryRequest) => {
      if (stream !== null && stream === this.send) stream(req);
      else sub.nonce = nonce; // a nonce of a stream that is gone means nothing on the current one
    };
    if (problems.length === 0) {
      reply(sub.ack(r)); // the version counts as accepted even if the stream died meanwhile
      xdsUpdates.inc({ type: type.label, result: 'accepted' });
      setVersion(type.label, previous, sub.version);
      log.info({ type: type.kind, version: r.version_info, changed: accepted.length, unchanged: same }, 'xDS: accepted');
    } else {
      const message = problems.join('\n');
      reply(sub.nack(r, message));
      xdsUpdates.inc({ type: type.label, result: 'rejected' });
      this.lastRejected = { type: type.label, message, at: new Date().toISOString() };
      log.warn({ type: type.kind, version: r.version_info, keptVersion: sub.version, accepted: accepted.length, errors: problems }, 'xDS: rejected (NACK); the last good version of each rejected resource keeps serving');
    }
    const counts = this.resources.counts;
    for (const label of ['rds', 'cds', 'eds'] as const) xdsResources.set({ type: label }, counts[label]);
    this.resubscribe(true);
    this.evaluate();
  }

  /** We hold an accepted version of this resource. */
  private holds(label: XdsTypeLabel, name: string): boolean {
    if (label === 'rds') return this.resources.hasRoute(name);
    if (label === 'cds') return this.resources.hasCluster(name);
    return this.store.has(name);
  }

  /** Publishes what is ready to serve; looks again when something warming times out. */
  private evaluate(): void {
    if (this.closed) return;
    if (this.recheck) clearTimeout(this.recheck);
    this.recheck = null;
    const first = this.resources.plan();
    // Routes that went live may no longer name some clusters: unsubscribe them, and drop them too.
    this.resubscribe(true);
    const plan = this.resources.plan();
    const fragments = plan.fragments ?? first.fragments;
    this.warming = plan.warming;
    if (fragments) this.onUpdate({ fragments, complete: this.resources.allRoutesLive });
    if (plan.recheckAt !== null) {
      this.recheck = setTimeout(() => {
        for (const w of this.warming) log.warn({ what: w, waitedMs: this.settings.initialFetchTimeoutMs }, 'xDS: initialFetchTimeout passed; serving without it');
        this.evaluate();
      }, Math.max(0, plan.recheckAt - Date.now()) + 5);
      this.recheck.unref();
    }
  }
}

/** `path: file not found` for each certificate, key or CA file that cannot be read. */
async function unreadable(files: readonly string[]): Promise<string[]> {
  const out: string[] = [];
  for (const f of files) {
    try {
      await access(f, constants.R_OK);
    } catch {
      out.push(`${f}: file not found or not readable`);
    }
  }
  return out;
}

function sameTls(a: AdsTarget['tls'], b: AdsTarget['tls']): boolean {
  if (a === null || b === null) return a === b;
  const eq = (x?: Buffer, y?: Buffer) => (x === undefined || y === undefined ? x === y : x.equals(y));
  return eq(a.ca, b.ca) && eq(a.cert, b.cert) && eq(a.key, b.key) && a.serverName === b.serverName;
}
