import type { RateLimitConfig } from '../../config/schema.ts';
import { buildPolicy, policyFingerprint, storeKind, type Policy, type StoreContext } from './policy.ts';
import type { RedisConnection } from './redis.ts';

// The rate-limit part of a generation: the compiled policies by name and the store they count in.
// Built from the previous generation's: the Redis connection is kept while `rateLimit.redis` is
// unchanged, and each unchanged policy keeps its limiter (and so its counts) across reloads.

const STARTUP_WAIT_MS = 1000;

export class RateLimits {
  static readonly NONE = new RateLimits(new Map(), null);

  private constructor(
    private readonly policies: ReadonlyMap<string, Policy>,
    /** The shared Redis connection, when `store: redis`. */
    readonly redis: RedisConnection | null,
  ) {}

  static async build(cfg: RateLimitConfig | undefined, previous: RateLimits | null): Promise<RateLimits> {
    if (!cfg || cfg.policies.length === 0) return RateLimits.NONE;
    const kind = storeKind(cfg.store);
    let redis: RedisConnection | null = null;
    if (kind === 'redis' && cfg.redis) {
      const prev = previous?.redis;
      if (prev && prev.url === cfg.redis.url && prev.keyPrefix === cfg.redis.keyPrefix) redis = prev;
      else {
        const { RedisConnection } = await import('./redis.ts'); // ioredis only for store: redis
        redis = new RedisConnection(cfg.redis.url, cfg.redis.keyPrefix);
        await redis.ready(STARTUP_WAIT_MS);
      }
    }
    const ctx: StoreContext = { kind, redis, fallbackDivisor: cfg.redis?.fallbackDivisor ?? 1 };
    const policies = new Map<string, Policy>();
    for (const p of cfg.policies) {
      const fingerprint = policyFingerprint(p, ctx);
      const reusable = previous?.policies.get(p.name);
      policies.set(p.name, reusable && reusable.fingerprint === fingerprint ? reusable : buildPolicy(p, ctx, fingerprint));
    }
    return new RateLimits(policies, redis);
  }

  policy(name: string): Policy | undefined {
    return this.policies.get(name);
  }

  /** After this runtime replaced `previous`: close what `previous` had and this one does not use. */
  retire(previous: RateLimits | null | undefined): void {
    if (previous?.redis && previous.redis !== this.redis) void previous.redis.close();
  }

  /** This runtime was built but never served (the compile failed): close what it did not borrow. */
  discard(previous: RateLimits | null | undefined): void {
    if (this.redis && this.redis !== previous?.redis) void this.redis.close();
  }

  async close(): Promise<void> {
    await this.redis?.close();
  }
}
