import cluster from 'node:cluster';
import { createHash } from 'node:crypto';
import {
  BurstyRateLimiter,
  RateLimiterCluster,
  RateLimiterMemory,
  RateLimiterRedis,
  RateLimiterRes,
} from 'rate-limiter-flexible';
import type { RateLimitPolicyConfig } from '../../config/schema.ts';
import { usesClaims } from './keys.ts';
import { statsFor, type PolicyStats } from './metrics.ts';
import type { RedisConnection } from './redis.ts';

// A policy compiled into its limiter (rate-limiter-flexible), built once and reused by later
// generations while its config and store are unchanged, so a reload never resets its counters.
//
// Stores:
// - memory: RateLimiterMemory in this process.
// - cluster (memory store under `--workers N`): RateLimiterCluster; the counts live in the primary
//   (RateLimiterClusterMaster, see cluster.ts), so the machine has one count. If the primary does
//   not answer in time, a local memory limiter decides (`fallback`).
// - redis: RateLimiterRedis (atomic Lua INCR + TTL), shared by every replica, with an insurance
//   RateLimiterMemory of ceil(limit / fallbackDivisor) that decides while Redis is unreachable.

export interface Consumer {
  consume(key: string): Promise<RateLimiterRes>;
}

/**
 * RateLimiterMemory with a synchronous consume: counting in this process needs no promise, so a
 * request under a memory-store policy stays on the synchronous path (no promise, no microtask).
 * The same storage and arithmetic as the library's consume() (execEvenly is never used here).
 */
export class SyncMemoryLimiter extends RateLimiterMemory {
  /** The count after this request; it is refused when `consumedPoints` exceeds `points`. */
  consumeNow(key: string): RateLimiterRes {
    const self = this as unknown as SyncMemoryInternals;
    const rlKey = self.getKey(key);
    let res = self._memoryStorage.incrby(rlKey, 1, self._getKeySecDuration({}));
    (res as { remainingPoints: number }).remainingPoints = Math.max(this.points - res.consumedPoints, 0);
    // Block only the first time the limit is passed (as the library does).
    if (res.consumedPoints > this.points && this.blockDuration > 0 && res.consumedPoints <= this.points + 1) {
      res = self._memoryStorage.set(rlKey, res.consumedPoints, this.blockDuration);
    }
    return res;
  }
}

/** What SyncMemoryLimiter uses of RateLimiterMemory beyond its typings (stable across its releases). */
interface SyncMemoryInternals {
  getKey(key: string): string;
  _getKeySecDuration(options: object): number;
  _memoryStorage: {
    incrby(key: string, value: number, durationSec: number): RateLimiterRes;
    set(key: string, value: number, durationSec: number): RateLimiterRes;
  };
}

export type StoreKind = 'memory' | 'cluster' | 'redis';

export interface Policy {
  readonly name: string;
  readonly key: string | readonly string[];
  readonly limit: number;
  /** Keyed (partly) on claims: runs after authn/authz. */
  readonly afterAuthn: boolean;
  /** Header values, built once: `RateLimit-Limit` and `RateLimit-Policy` (`100;w=1`). */
  readonly limitHeader: string;
  readonly policyHeader: string;
  readonly consumer: Consumer;
  /** The same counter, consumed synchronously: set for the memory store without a burst (else null). */
  readonly consumeNow: ((key: string) => RateLimiterRes) | null;
  /** Decides when `consumer` fails with an error rather than a verdict (cluster store only). */
  readonly fallback: Consumer | null;
  readonly stats: PolicyStats;
  readonly fingerprint: string;
}

export interface StoreContext {
  readonly kind: StoreKind;
  readonly redis: RedisConnection | null;
  readonly fallbackDivisor: number;
}

const CLUSTER_TIMEOUT_MS = 1000;

export function storeKind(store: 'memory' | 'redis'): StoreKind {
  if (store === 'redis') return 'redis';
  return cluster.isWorker ? 'cluster' : 'memory';
}

export function policyFingerprint(p: RateLimitPolicyConfig, ctx: StoreContext): string {
  const where = ctx.kind === 'redis' ? [ctx.redis?.url, ctx.redis?.keyPrefix, ctx.fallbackDivisor] : [];
  return createHash('sha256').update(JSON.stringify([p, ctx.kind, where])).digest('hex').slice(0, 16);
}

interface LimiterOptions {
  points: number;
  /** Seconds, as rate-limiter-flexible wants them (fractions work for memory and cluster). */
  duration: number;
  blockDuration: number;
  keyPrefix: string;
}

/** Counts the insurance limiter's decisions and tells the connection Redis failed. */
class InsuranceLimiter extends RateLimiterMemory {
  constructor(
    opts: LimiterOptions,
    private readonly onUse: () => void,
  ) {
    super(opts);
  }
  override consume(key: string | number, points?: number, options?: Record<string, unknown>): Promise<RateLimiterRes> {
    this.onUse();
    return super.consume(key, points, options);
  }
}

function limiter(o: LimiterOptions, ctx: StoreContext, stats: PolicyStats) {
  switch (ctx.kind) {
    case 'memory':
      return new SyncMemoryLimiter(o);
    case 'cluster':
      return new RateLimiterCluster({ ...o, timeoutMs: CLUSTER_TIMEOUT_MS });
    case 'redis': {
      const redis = ctx.redis!;
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

export function buildPolicy(p: RateLimitPolicyConfig, ctx: StoreContext, fingerprint: string): Policy {
  const stats = statsFor(p.name);
  // Redis keys: <keyPrefix>rl:<policy>:s:<key> (sustained) and …:b:<key> (burst). Cluster limiters
  // are created in the primary once per prefix, so theirs also carries the fingerprint.
  const base = `${ctx.kind === 'redis' ? ctx.redis!.keyPrefix : ''}rl:${encodeURIComponent(p.name)}${ctx.kind === 'cluster' ? `:${fingerprint}` : ''}`;
  const sustained = { points: p.limit, duration: p.window / 1000, blockDuration: p.blockFor / 1000, keyPrefix: `${base}:s` };
  const main = limiter(sustained, ctx, stats);
  let consumer: Consumer = main;
  const consumeNow = main instanceof SyncMemoryLimiter && !p.burst ? (key: string) => main.consumeNow(key) : null;
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
    consumeNow,
    fallback,
    stats,
    fingerprint,
  });
}
