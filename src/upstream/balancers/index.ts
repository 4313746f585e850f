import type { BalancerFactory } from './balancer.ts';
import { RoundRobinBalancer } from './round-robin.ts';
import { LeastRequestBalancer } from './least-request.ts';
import { RandomBalancer } from './random.ts';
import { RingHashBalancer } from './ring-hash.ts';
import { MaglevBalancer } from './maglev.ts';

// The balancer registry: adding a policy is one file in this folder and one line here
// (plus its name in LB_POLICIES of config/schema.ts so the config accepts it).
export const balancers: ReadonlyMap<string, BalancerFactory> = new Map<string, BalancerFactory>([
  ['round_robin', () => new RoundRobinBalancer()],
  ['least_request', () => new LeastRequestBalancer()],
  ['random', () => new RandomBalancer()],
  ['ring_hash', () => new RingHashBalancer()],
  ['maglev', () => new MaglevBalancer()],
]);

/** Policies that read a hash key (the forward path computes one only for these). */
export const HASH_POLICIES: ReadonlySet<string> = new Set(['ring_hash', 'maglev']);

export type { Balancer, BalancerFactory, PickContext } from './balancer.ts';
