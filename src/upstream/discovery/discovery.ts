import type { EndpointAddress } from '../cluster.ts';
import type { HostResolver } from './resolver.ts';
import type { EndpointSource } from './eds.ts';

// A discovery kind produces the endpoint set of a cluster and keeps it current. It only *emits*
// address lists (to `sink`, i.e. Cluster.setEndpoints); it never touches endpoints or pools.
// Adding a kind is one file in this folder and one line in index.ts.

export type EndpointSink = (addresses: EndpointAddress[]) => void;

export interface Discovery {
  /** First resolution (resolves even when it failed: the cluster then starts empty), then refreshes. */
  start(sink: EndpointSink): Promise<void>;
  close(): void;
}

export interface DiscoveryContext {
  readonly resolver: HostResolver;
  /** A failed refresh (the last good endpoints were kept); `inARow` counts failures since the last success. */
  readonly onFailure: (err: unknown, inARow: number) => void;
  /** Where `eds` clusters read their endpoints (the xDS client's store); absent without xDS. */
  readonly endpoints?: EndpointSource;
}
