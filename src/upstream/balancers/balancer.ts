import type { Endpoint } from '../endpoint.ts';

// The one interface every load balancer implements. A balancer is told the endpoint list whenever
// discovery or health changes it (`update`) and picks one per request (`pick`), never allocating on
// the pick path if it can help it. Choosing the *cluster* (weighted split) is the router's job.

export interface PickContext {
  /** A stable hash key for consistent-hash balancers (header, cookie or client address), or undefined. */
  readonly hashKey: string | undefined;
}

export interface Balancer {
  update(endpoints: readonly Endpoint[]): void;
  /** An available endpoint, or null when none is. `exclude` lets a retry avoid the endpoint that failed. */
  pick(ctx: PickContext, exclude?: Endpoint): Endpoint | null;
}

export type BalancerFactory = () => Balancer;
