// The set of grpc.health.v1 services a health server answers for, with their status, and the Watch
// streams waiting on them. The whole set is replaced at once (from a gateway's feed, or from the
// primary's aggregate under --workers); watchers hear only real changes, and a service that leaves
// the set is reported SERVICE_UNKNOWN to its watchers (and NOT_FOUND to Check), as the protocol says.

export type ServingStatus = 'SERVING' | 'NOT_SERVING';
export type WatchStatus = ServingStatus | 'SERVICE_UNKNOWN';
export type HealthSnapshot = ReadonlyMap<string, ServingStatus>;

type Watcher = (status: WatchStatus) => void;

export class HealthStatuses {
  private statuses = new Map<string, ServingStatus>();
  private readonly watchers = new Map<string, Set<Watcher>>();
  private watcherTotal = 0;

  get(service: string): ServingStatus | undefined {
    return this.statuses.get(service);
  }

  entries(): IterableIterator<[string, ServingStatus]> {
    return this.statuses.entries();
  }

  get size(): number {
    return this.statuses.size;
  }

  /** Open Watch streams, all services together (the server bounds it). */
  get watching(): number {
    return this.watcherTotal;
  }

  /** Makes `next` the whole set. */
  replace(next: HealthSnapshot): void {
    const previous = this.statuses;
    this.statuses = new Map(next);
    for (const [service, status] of next) if (previous.get(service) !== status) this.notify(service, status);
    for (const service of previous.keys()) if (!next.has(service)) this.notify(service, 'SERVICE_UNKNOWN');
  }

  /** Calls `fn` now with the current status (SERVICE_UNKNOWN for an unknown service), then on every change. */
  watch(service: string, fn: Watcher): () => void {
    let set = this.watchers.get(service);
    if (!set) this.watchers.set(service, (set = new Set()));
    set.add(fn);
    this.watcherTotal++;
    fn(this.statuses.get(service) ?? 'SERVICE_UNKNOWN');
    let done = false;
    return () => {
      if (done) return;
      done = true;
      this.watcherTotal--;
      set.delete(fn);
      if (set.size === 0 && this.watchers.get(service) === set) this.watchers.delete(service);
    };
  }

  private notify(service: string, status: WatchStatus): void {
    const set = this.watchers.get(service);
    if (set) for (const fn of [...set]) fn(status);
  }
}
