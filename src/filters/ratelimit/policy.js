import cluster from 'node:cluster';
import { createHash } from 'node:crypto';
import { BurstyRateLimiter, RateLimiterCluster, RateLimiterMemory, RateLimiterRedis, } from 'rate-limiter-flexible';
import { usesClaims } from "./keys.js";
import { statsFor } from "./metrics.js";
const CLUSTER_TIMEOUT_MS = 1000;
export function storeKind(store) {
    if (store === 'redis')
        return 'redis';
    return cluster.isWorker ? 'cluster' : 'memory';
}
export function policyFingerprint(p, ctx) {
    const where = ctx.kind === 'redis' ? [ctx.redis?.url, ctx.redis?.keyPrefix, ctx.fallbackDivisor] : [];
    return createHash('sha256').update(JSON.stringify([p, ctx.kind, where])).digest('hex').slice(0, 16);
}
/** Counts the insurance limiter's decisions and tells the connection Redis failed. */
class InsuranceLimiter extends RateLimiterMemory {
    onUse;
    constructor(opts, onUse) {
        super(opts);
        this.onUse = onUse;
    }
    consume(key, points, options) {
        this.onUse();
        return super.consume(key, points, options);
    }
}
function limiter(o, ctx, stats) {
    switch (ctx.kind) {
        case 'memory':
            return new RateLimiterMemory(o);
        case 'cluster':
            return new RateLimiterCluster({ ...o, timeoutMs: CLUSTER_TIMEOUT_MS });
        case 'redis': {
            const redis = ctx.redis;
            const insurance = new InsuranceLimiter({ ...o, points: Math.ceil(o.points / ctx.fallbackDivisor) }, () => {
                stats.fallback++;
                redis.fellBack();
            });
            return new RateLimiterRedis({
                ...o,
                storeClient: redis.client,
                rejectIfRedisNotReady: true,
                insuranceLimiter: insurance,
                // Over the limit, this process refuses the key from memory until the window ends instead
                // of asking Redis again: a flood costs no Redis round trips. (Not with blockFor, whose
                // block must be written to Redis.)
                inMemoryBlockOnConsumed: o.blockDuration === 0 ? o.points + 1 : 0,
            });
        }
    }
}
export function buildPolicy(p, ctx, fingerprint) {
    const stats = statsFor(p.name);
    // Redis keys: <keyPrefix>rl:<policy>:s:<key> (sustained) and …:b:<key> (burst). Cluster limiters
    // are created in the primary once per prefix, so theirs also carries the fingerprint.
    const base = `${ctx.kind === 'redis' ? ctx.redis.keyPrefix : ''}rl:${encodeURIComponent(p.name)}${ctx.kind === 'cluster' ? `:${fingerprint}` : ''}`;
    const sustained = { points: p.limit, duration: p.window / 1000, blockDuration: p.blockFor / 1000, keyPrefix: `${base}:s` };
    const main = limiter(sustained, ctx, stats);
    let consumer = main;
    if (p.burst) {
        const burst = { points: p.burst.limit, duration: p.burst.window / 1000, blockDuration: 0, keyPrefix: `${base}:b` };
        consumer = new BurstyRateLimiter(main, limiter(burst, ctx, stats));
    }
    const fallback = ctx.kind === 'cluster' ? new RateLimiterMemory({ ...sustained, keyPrefix: 'fallback' }) : null;
    return Object.freeze({
        name: p.name,
        key: p.key,
        limit: p.limit,
        afterAuthn: usesClaims(p.key),
        limitHeader: String(p.limit),
        policyHeader: `${p.limit};w=${Math.max(1, Math.ceil(p.window / 1000))}`,
        consumer,
        fallback,
        stats,
        fingerprint,
    });
}
