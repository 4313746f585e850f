import type { Cluster } from '../upstream/cluster.ts';
import type { HealthSnapshot, ServingStatus } from './health-statuses.ts';

// What one gateway process reports over grpc.health.v1, as a whole snapshot on every change:
//   ""               SERVING while the gateway is ready (readiness: config loaded, warm-ups done, not draining);
//   "cluster:<name>" SERVING while that cluster of the current generation has an endpoint that can take
//                    traffic (Cluster.watch tells of every flip), for every cluster of the generation, so
//                    the set follows reloads and xDS (both swap generations in one place; an EDS
//                    update flips a cluster through Cluster.watch without a new generation).
// While draining, every service is NOT_SERVING: whatever a load balancer health-checks, it takes the
// instance out.

export const OVERALL = '';
export const clusterService = (name: string) => `cluster:${name}`;

export class HealthFeed {
  private ready = false;
  private draining = false;
  private readonly clusters = new Map<Cluster, () => void>();
  private readonly subscribers = new Set<(s: HealthSnapshot) => void>();
  private current: HealthSnapshot = new Map([[OVERALL, 'NOT_SERVING']]);
  private signature = '';

  get snapshot(): HealthSnapshot {
    return this.current;
  }

  /** Readiness and drain state, from the gateway (deduplicated here, so calling it often is cheap). */
  setState(ready: boolean, draining: boolean): void {
    if (ready === this.ready && draining === this.draining) return;
    this.ready = ready;
    this.draining = draining;
    this.publish();
  }

  /** The clusters of the generation now serving: watches the new ones, forgets those that left. */
  setClusters(clusters: Iterable<Cluster>): void {
    const next = new Set(clusters);
    for (const [c, unwatch] of this.clusters) {
      if (!next.has(c)) {
        unwatch();
        this.clusters.delete(c);
      }
    }
    for (const c of next) if (!this.clusters.has(c)) this.clusters.set(c, c.watch(() => this.publish()));
    this.publish();
  }

  /** Calls `fn` with the current snapshot, then with every changed one; returns the unsubscribe function. */
  subscribe(fn: (s: HealthSnapshot) => void): () => void {
    this.subscribers.add(fn);
    fn(this.current);
    return () => this.subscribers.delete(fn);
  }

  close(): void {
    for (const unwatch of this.clusters.values()) unwatch();
    this.clusters.clear();
    this.subscribers.clear();
  }

  private publish(): void {
    const up = (ok: boolean): ServingStatus => (ok && !this.draining ? 'SERVING' : 'NOT_SERVING');
    const next = new Map<string, ServingStatus>([[OVERALL, up(this.ready)]]);
    for (const c of this.clusters.keys()) next.set(clusterService(c.name), up(c.hasServingEndpoint));
    const signature = [...next].map(([k, v]) => `${k}=${v}`).join('\n');
    if (signature === this.signature) return;
    this.signature = signature;
    this.current = next;
    for (const fn of this.subscribers) fn(next);
  }
}
