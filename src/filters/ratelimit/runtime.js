import { buildPolicy, policyFingerprint, storeKind } from "./policy.js";
import { RedisConnection } from "./redis.js";
// The rate-limit part of a generation: the compiled policies by name and the store they count in.
// Built from the previous generation's: the Redis connection is kept while `rateLimit.redis` is
// unchanged, and each unchanged policy keeps its limiter (and so its counts) across reloads.
const STARTUP_WAIT_MS = 1000;
export class RateLimits {
    policies;
    redis;
    static NONE = new RateLimits(new Map(), null);
    constructor(policies, 
    /** The shared Redis connection, when `store: redis`. */
    redis) {
        this.policies = policies;
        this.redis = redis;
    }
    static async build(cfg, previous) {
        if (!cfg || cfg.policies.length === 0)
            return RateLimits.NONE;
        const kind = storeKind(cfg.store);
        let redis = null;
        if (kind === 'redis' && cfg.redis) {
            const prev = previous?.redis;
            if (prev && prev.url === cfg.redis.url && prev.keyPrefix === cfg.redis.keyPrefix)
                redis = prev;
            else {
                redis = new RedisConnection(cfg.redis.url, cfg.redis.keyPrefix);
                await redis.ready(STARTUP_WAIT_MS);
            }
        }
        const ctx = { kind, redis, fallbackDivisor: cfg.redis?.fallbackDivisor ?? 1 };
        const policies = new Map();
        for (const p of cfg.policies) {
            const fingerprint = policyFingerprint(p, ctx);
            const reusable = previous?.policies.get(p.name);
            policies.set(p.name, reusable && reusable.fingerprint === fingerprint ? reusable : buildPolicy(p, ctx, fingerprint));
        }
        return new RateLimits(policies, redis);
    }
    policy(name) {
        return this.policies.get(name);
    }
    /** After this runtime replaced `previous`: close what `previous` had and this one does not use. */
    retire(previous) {
        if (previous?.redis && previous.redis !== this.redis)
            void previous.redis.close();
    }
    /** This runtime was built but never served (the compile failed): close what it did not borrow. */
    discard(previous) {
        if (this.redis && this.redis !== previous?.redis)
            void this.redis.close();
    }
    async close() {
        await this.redis?.close();
    }
}
