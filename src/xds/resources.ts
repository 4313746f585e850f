import type { XdsFragments } from '../config/merge.ts';
import type { EndpointStore } from './endpoint-store.ts';
import type { ClusterFragment } from './translate/cluster.ts';
import type { RouteConfigFragment } from './translate/route.ts';

// The accepted xDS resources and the decision of what serves (warming). Each RouteConfiguration and
// Cluster has a `latest` accepted version and a `live` one (what the last published snapshot holds):
//   - a cluster's latest version goes live once its endpoints are known (EDS delivered its
//     ClusterLoadAssignment) or `initialFetchTimeout` has passed since we asked for them;
//   - a RouteConfiguration's latest version goes live once every cluster it names is live (or a YAML
//     cluster), or `initialFetchTimeout` has passed since we asked CDS for it (the merge then serves it
//     as an empty cluster: 503);
//   - until then the previous live version keeps serving, so a push that adds a cluster and a route to
//     it never sends a request to a cluster that has no endpoints yet (make before break).
// The subscriptions follow from the resources: CDS asks for the clusters the routes name (live and
// pending), EDS for the service names of those clusters and of YAML `eds` clusters.

export interface Plan {
  /** A new snapshot to serve, or null when nothing that serves changed. */
  readonly fragments: XdsFragments | null;
  /** When to plan again because something is still warming (ms since epoch), or null. */
  readonly recheckAt: number | null;
  /** What is still warming, for the admin view and logs. */
  readonly warming: readonly string[];
}

interface Versions<T> {
  latest: T;
  live: T | null;
}

export class XdsResources {
  private readonly routes = new Map<string, Versions<RouteConfigFragment>>();
  private readonly clusters = new Map<string, Versions<ClusterFragment>>();
  private readonly cdsSince = new Map<string, number>();
  private readonly edsSince = new Map<string, number>();
  private dirty = false;

  constructor(
    private readonly store: EndpointStore,
    public routeConfigNames: readonly string[],
    public localClusters: ReadonlySet<string>,
    public localEds: ReadonlySet<string>,
    public timeoutMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  setRouteConfigNames(names: readonly string[]): void {
    this.routeConfigNames = names;
    for (const n of [...this.routes.keys()]) if (!names.includes(n)) this.routes.delete(n);
    this.dirty = true;
  }

  setRoute(f: RouteConfigFragment): void {
    const v = this.routes.get(f.name);
    if (v) v.latest = f;
    else this.routes.set(f.name, { latest: f, live: null });
  }

  setCluster(f: ClusterFragment): void {
    const v = this.clusters.get(f.name);
    if (v) v.latest = f;
    else this.clusters.set(f.name, { latest: f, live: null });
  }

  /** A cluster the server no longer has (absent from a CDS response). */
  removeCluster(name: string): void {
    if (this.clusters.delete(name)) this.dirty = true;
  }

  hasRoute(name: string): boolean {
    return this.routes.has(name);
  }

  hasCluster(name: string): boolean {
    return this.clusters.has(name);
  }

  get counts(): { rds: number; cds: number; eds: number } {
    return { rds: this.routes.size, cds: this.clusters.size, eds: this.store.size };
  }

  /** The clusters to ask CDS for: every one a route names, live or pending. */
  cdsNames(): Set<string> {
    const out = new Set<string>();
    for (const v of this.routes.values()) for (const f of [v.latest, v.live]) for (const c of f?.clusters ?? []) out.add(c);
    return out;
  }

  /** The ClusterLoadAssignments to ask EDS for. */
  edsNames(): Set<string> {
    const out = new Set(this.localEds);
    for (const v of this.clusters.values()) for (const f of [v.latest, v.live]) if (f?.edsName) out.add(f.edsName);
    return out;
  }

  /** The subscriptions changed: start the warming clocks of new names, forget what nobody asks for. */
  subscribed(cds: ReadonlySet<string>, eds: ReadonlySet<string>): void {
    const t = this.now();
    for (const n of cds) if (!this.cdsSince.has(n)) this.cdsSince.set(n, t);
    for (const n of [...this.cdsSince.keys()]) if (!cds.has(n)) this.cdsSince.delete(n);
    for (const n of [...this.clusters.keys()]) if (!cds.has(n)) this.removeCluster(n);
    for (const n of eds) if (!this.edsSince.has(n)) this.edsSince.set(n, t);
    for (const n of [...this.edsSince.keys()]) {
      if (eds.has(n)) continue;
      this.edsSince.delete(n);
      this.store.delete(n);
    }
  }

  /** Every RouteConfiguration of `routeConfigNames` has been live at least once. */
  get allRoutesLive(): boolean {
    return this.routeConfigNames.every((n) => this.routes.get(n)?.live);
  }

  plan(): Plan {
    const t = this.now();
    let changed = this.dirty;
    let recheckAt = Infinity;
    const warming: string[] = [];
    const due = (since: number | undefined): number => (since ?? t) + this.timeoutMs;

    const live = new Map<string, ClusterFragment>();
    for (const [name, v] of this.clusters) {
      if (v.latest !== v.live) {
        const eds = v.latest.edsName;
        const deadline = eds === null || this.store.has(eds) ? t : due(this.edsSince.get(eds));
        if (deadline <= t) {
          v.live = v.latest;
          changed = true;
        } else {
          recheckAt = Math.min(recheckAt, deadline);
          warming.push(`cluster ${name}: waiting for its endpoints (EDS ${eds})`);
        }
      }
      if (v.live) live.set(name, v.live);
    }

    for (const name of this.routeConfigNames) {
      const v = this.routes.get(name);
      if (!v || v.latest === v.live) continue;
      let deadline = t;
      const missing: string[] = [];
      for (const c of v.latest.clusters) {
        if (live.has(c) || this.localClusters.has(c)) continue;
        deadline = Math.max(deadline, due(this.cdsSince.get(c)));
        missing.push(c);
      }
      if (deadline <= t) {
        v.live = v.latest;
        changed = true;
      } else {
        recheckAt = Math.min(recheckAt, deadline);
        warming.push(`RouteConfiguration ${name}: waiting for cluster(s) ${missing.join(', ')}`);
      }
    }

    this.dirty = false;
    return {
      fragments: changed ? this.fragments(live) : null,
      recheckAt: recheckAt === Infinity ? null : recheckAt,
      warming,
    };
  }

  private fragments(live: ReadonlyMap<string, ClusterFragment>): XdsFragments {
    const virtualHosts = [];
    for (const name of this.routeConfigNames) {
      const rc = this.routes.get(name)?.live;
      for (const host of rc?.virtualHosts ?? []) virtualHosts.push({ routeConfig: name, host });
    }
    return { virtualHosts, clusters: [...live.values()].map((c) => c.cluster) };
  }
}
