import { RateLimiterRes } from 'rate-limiter-flexible';
import type { RouteConfig, VirtualHostConfig } from '../../config/schema.ts';
import type { Exchange } from '../../exchange.ts';
import { log } from '../../observability/logger.ts';
import type { FilterResult, RequestFilter } from '../filter.ts';
import { reportAllowed, refusal } from './headers.ts';
import { compileKey, type KeyFn } from './keys.ts';
import type { Policy } from './policy.ts';
import type { RateLimits } from './runtime.ts';

// The rate-limit filters of one route. Policies keyed on the client address, headers or the route
// run BEFORE authn (a flood of bad tokens is refused before any token work); policies with a claim
// in their key run AFTER authn/authz (they need ex.claims). Each phase is one filter; a route
// without policies in a phase gets null there (no cost).
//
// Every request is checked against every policy that applies (in parallel when there are several);
// it is refused when any refuses. A store error never becomes a 5xx: the policy's fallback decides,
// or the request is let through (logged at most once a minute).

export interface RateLimitFilters {
  readonly beforeAuthn: RequestFilter | null;
  readonly afterAuthn: RequestFilter | null;
}

const NONE: RateLimitFilters = Object.freeze({ beforeAuthn: null, afterAuthn: null });

interface Check {
  readonly policy: Policy;
  readonly key: KeyFn;
}

let lastOpenWarning = 0;
function failOpen(p: Policy, err: unknown): undefined {
  const now = Date.now();
  if (now - lastOpenWarning > 60_000) {
    lastOpenWarning = now;
    log.warn({ policy: p.name, err: (err as Error)?.message }, 'rate-limit store failed; request let through');
  }
  p.stats.allowed++;
  return undefined;
}

function allowed(ex: Exchange, p: Policy, res: RateLimiterRes): undefined {
  p.stats.allowed++;
  reportAllowed(ex, p, res.remainingPoints, res.msBeforeNext);
  return undefined;
}

/** The consume promise was rejected: a verdict (RateLimiterRes) or a store error. */
function notAllowed(ex: Exchange, p: Policy, key: string, rej: unknown): FilterResult | Promise<FilterResult> {
  if (rej instanceof RateLimiterRes) {
    p.stats.limited++;
    return refusal(p, rej.msBeforeNext);
  }
  const fb = p.fallback;
  if (fb === null) return failOpen(p, rej);
  p.stats.fallback++;
  return fb.consume(key).then(
    (res) => allowed(ex, p, res),
    (rej2: unknown) => {
      if (!(rej2 instanceof RateLimiterRes)) return failOpen(p, rej2);
      p.stats.limited++;
      return refusal(p, rej2.msBeforeNext);
    },
  );
}

/** One policy: the common case, kept to one consume and one then(). */
class SinglePolicyFilter implements RequestFilter {
  readonly name = 'ratelimit';
  constructor(private readonly check: Check) {}

  describe(): string {
    return `policy ${this.check.policy.name}`;
  }

  onRequest(ex: Exchange): FilterResult | Promise<FilterResult> {
    const key = this.check.key(ex);
    if (key === null) return undefined;
    const p = this.check.policy;
    if (p.consumeNow !== null) {
      const res = p.consumeNow(key);
      if (res.consumedPoints <= p.limit) return allowed(ex, p, res);
      p.stats.limited++;
      return refusal(p, res.msBeforeNext);
    }
    return p.consumer.consume(key).then(
      (res) => allowed(ex, p, res),
      (rej: unknown) => notAllowed(ex, p, key, rej),
    );
  }
}

/** Several policies: all are consumed (in parallel); the longest wait among refusals is answered. */
class MultiPolicyFilter implements RequestFilter {
  readonly name = 'ratelimit';
  constructor(private readonly checks: readonly Check[]) {}

  describe(): string {
    return `policies ${this.checks.map((c) => c.policy.name).join(', ')}`;
  }

  onRequest(ex: Exchange): FilterResult | Promise<FilterResult> {
    let pending: Array<FilterResult | Promise<FilterResult>> | null = null;
    for (let i = 0; i < this.checks.length; i++) {
      const c = this.checks[i];
      const key = c.key(ex);
      if (key === null) continue;
      const p = c.policy;
      (pending ??= []).push(
        p.consumer.consume(key).then(
          (res) => allowed(ex, p, res),
          (rej: unknown) => notAllowed(ex, p, key, rej),
        ),
      );
    }
    if (pending === null) return undefined;
    return Promise.all(pending).then(longestWait);
  }
}

function longestWait(results: FilterResult[]): FilterResult {
  let worst: FilterResult;
  for (const r of results) {
    if (r !== undefined && (worst === undefined || Number(r.headers?.['retry-after']) > Number(worst.headers?.['retry-after']))) worst = r;
  }
  return worst;
}

/**
 * The rate-limit filters of route `r` in virtual host `vh`: the route's `rateLimits` when given
 * (`[]` = none), else the virtual host's.
 */
export function compileRateLimitFilters(limits: RateLimits, vh: VirtualHostConfig, r: RouteConfig): RateLimitFilters {
  const names = r.rateLimits ?? vh.rateLimits;
  if (!names || names.length === 0) return NONE;
  const before: Check[] = [];
  const after: Check[] = [];
  for (const name of new Set(names)) {
    const policy = limits.policy(name);
    if (!policy) continue; // unknown names are refused by config validation
    const check = { policy, key: compileKey(policy.key, { virtualHost: vh.name, route: r.name }) };
    (policy.afterAuthn ? after : before).push(check);
  }
  return { beforeAuthn: phase(before), afterAuthn: phase(after) };
}

function phase(checks: Check[]): RequestFilter | null {
  if (checks.length === 0) return null;
  return checks.length === 1 ? new SinglePolicyFilter(checks[0]) : new MultiPolicyFilter(checks);
}
