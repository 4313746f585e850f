import type { EndpointAddress } from '../upstream/cluster.ts';
import type { EndpointSink, EndpointSource } from '../upstream/discovery/index.ts';

// The endpoints EDS delivered, by resource name. `eds` clusters watch their name here
// (upstream/discovery/eds.ts): an update reaches every watching cluster's setEndpoints at once,
// without a new generation. It outlives xDS client restarts, so clusters keep their endpoints
// while the client reconnects.

export class EndpointStore implements EndpointSource {
  private readonly current = new Map<string, readonly EndpointAddress[]>();
  private readonly sinks = new Map<string, Set<EndpointSink>>();

  watch(name: string, sink: EndpointSink): () => void {
    let set = this.sinks.get(name);
    if (!set) this.sinks.set(name, (set = new Set()));
    set.add(sink);
    const now = this.current.get(name);
    if (now) sink([...now]);
    return () => {
      set.delete(sink);
      if (set.size === 0 && this.sinks.get(name) === set) this.sinks.delete(name);
    };
  }

  has(name: string): boolean {
    return this.current.has(name);
  }

  get(name: string): readonly EndpointAddress[] | undefined {
    return this.current.get(name);
  }

  set(name: string, endpoints: readonly EndpointAddress[]): void {
    this.current.set(name, endpoints);
    for (const sink of this.sinks.get(name) ?? []) sink([...endpoints]);
  }

  /** Forgets a name nobody subscribes to any more (its clusters are gone or going). */
  delete(name: string): void {
    this.current.delete(name);
  }

  /** Forgets every endpoint (xDS was turned off). */
  clear(): void {
    this.current.clear();
  }

  get size(): number {
    return this.current.size;
  }
}
