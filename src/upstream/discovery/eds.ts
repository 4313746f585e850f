import type { EndpointAddress } from '../cluster.ts';
import type { Discovery, EndpointSink } from './discovery.ts';

// `eds`: the endpoints come from the xDS client's EDS subscription (ClusterLoadAssignment), already
// translated into addresses. The cluster watches its service name in an EndpointSource: the current
// endpoints are handed over at once when known, and every update goes straight to
// Cluster.setEndpoints — no recompile, no new generation. Until the first update the cluster is
// empty (503 no_healthy_upstream); the xDS client warms a cluster before a route uses it.

export interface EndpointSource {
  /** Calls `sink` with the endpoints of `serviceName` now (when known) and on every change; returns a function that stops it. */
  watch(serviceName: string, sink: EndpointSink): () => void;
}

export class EdsDiscovery implements Discovery {
  private stop: (() => void) | null = null;
  private closed = false;

  constructor(
    private readonly source: EndpointSource,
    private readonly serviceName: string,
  ) {}

  async start(sink: EndpointSink): Promise<void> {
    if (this.closed) return;
    this.stop = this.source.watch(this.serviceName, (addrs: EndpointAddress[]) => sink(addrs));
  }

  close(): void {
    this.closed = true;
    this.stop?.();
    this.stop = null;
  }
}
