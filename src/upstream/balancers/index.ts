import type { BalancerFactory } from './balancer.ts';
import { RoundRobinBalancer } from './round-robin.ts';

// The balancer registry: adding a policy is one file in this folder and one line here.
export const balancers: ReadonlyMap<string, BalancerFactory> = new Map<string, BalancerFactory>([
  ['round_robin', () => new RoundRobinBalancer()],
]);

export type { Balancer, BalancerFactory, PickContext } from './balancer.ts';
