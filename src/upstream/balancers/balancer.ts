import type { Endpoint } from '../endpoint.ts';

// The one interface every load balancer implements. A balancer is told the list of endpoints that
// may take traffic whenever discovery, health checks or outlier detection change it (`update`: the
// cluster has already dropped unhealthy/ejected endpoints and chosen the priority group) and picks
// one per request (`pick`), never allocating on the pick path if it can help it.
// Choosing the *cluster* (weighted split) is the router's job.

export interface PickContext {
  /** A stable hash key for consistent-hash balancers (header, cookie or client address), or undefined. */
  readonly hashKey: string | undefined;
}

export interface Balancer {
  update(endpoints: readonly Endpoint[]): void;
  /**
   * One of the endpoints last given to `update`, or null when there are none. `exclude` lets a retry
   * avoid the endpoint that failed (it is returned only when it is the only one).
   */
  pick(ctx: PickContext, exclude?: Endpoint): Endpoint | null;
}

export type BalancerFactory = () => Balancer;
