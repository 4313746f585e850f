import { RoundRobinBalancer } from "./round-robin.js";
import { LeastRequestBalancer } from "./least-request.js";
import { RandomBalancer } from "./random.js";
import { RingHashBalancer } from "./ring-hash.js";
import { MaglevBalancer } from "./maglev.js";
// The balancer registry: adding a policy is one file in this folder and one line here
// (plus its name in LB_POLICIES of config/schema.ts so the config accepts it).
export const balancers = new Map([
    ['round_robin', () => new RoundRobinBalancer()],
    ['least_request', () => new LeastRequestBalancer()],
    ['random', () => new RandomBalancer()],
    ['ring_hash', () => new RingHashBalancer()],
    ['maglev', () => new MaglevBalancer()],
]);
/** Policies that read a hash key (the forward path computes one only for these). */
export const HASH_POLICIES = new Set(['ring_hash', 'maglev']);
