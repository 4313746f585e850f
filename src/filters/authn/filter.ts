import { Errors } from '../../errors.ts';
import type { Exchange } from '../../exchange.ts';
import { authnFailure } from '../../observability/metrics.ts';
import type { FilterResult, Rejection, RequestFilter } from '../filter.ts';
import type { FailureReason, Provider, Verified } from './provider.ts';
import { findToken, withoutCookie, type FoundToken } from './token-source.ts';

// The per-route authn filter (`authn: { providers: [...] }` or `{ allowAnonymous: true }`):
// removes client-sent copies of the identity headers, finds a token for each provider in order and
// accepts the first that verifies. A cached token is handled synchronously.

const NO_TOKEN: Rejection = Object.freeze({
  error: Errors.unauthenticated,
  headers: Object.freeze({ 'www-authenticate': 'Bearer realm="gatehouse"' }) as Record<string, string>,
});
const BAD_TOKEN: Rejection = Object.freeze({
  error: Errors.invalidToken,
  headers: Object.freeze({ 'www-authenticate': 'Bearer realm="gatehouse", error="invalid_token"' }) as Record<string, string>,
});

/** Adds `names` to the request's upstream header removals. */
export function stripHeaders(ex: Exchange, names: readonly string[]): void {
  if (names.length === 0) return;
  const set = (ex.upstreamHeadersRemove ??= new Set());
  for (let i = 0; i < names.length; i++) set.add(names[i]);
}

/** Removes the token from what goes to the mesh: its header, or only its cookie from Cookie. */
function stripToken(ex: Exchange, found: FoundToken): void {
  const remove = (ex.upstreamHeadersRemove ??= new Set());
  const cookieName = found.source.cookie;
  if (cookieName === null) {
    remove.add(found.source.header);
    return;
  }
  const add = (ex.upstreamHeadersAdd ??= []);
  // A cookie removed earlier in this request already rewrote Cookie: edit that copy.
  let at = -1;
  if (remove.has('cookie')) for (let i = 0; i < add.length; i += 2) if (add[i] === 'cookie') at = i;
  const current = at >= 0 ? add[at + 1] : String(ex.req.headers.cookie ?? '');
  const rest = withoutCookie(current, cookieName);
  remove.add('cookie');
  if (at >= 0) {
    if (rest === '') add.splice(at, 2);
    else add[at + 1] = rest;
  } else if (rest !== '') add.push('cookie', rest);
}

/** Counts the reason and returns the answer (or undefined when anonymous is allowed). */
function fail(reason: FailureReason, allowAnonymous: boolean): FilterResult {
  if (allowAnonymous) {
    if (reason !== 'missing') authnFailure(reason).inc();
    return undefined;
  }
  authnFailure(reason).inc();
  return reason === 'missing' ? NO_TOKEN : BAD_TOKEN;
}

interface Attempt {
  /** Tokens tried and refused (stripped with forwardToken: false when anonymous is allowed). */
  refused: Array<{ provider: Provider; found: FoundToken }>;
  /** The last refusal's reason (the metric label). */
  reason: FailureReason;
}

export class AuthnFilter implements RequestFilter {
  readonly name = 'authn';

  constructor(
    private readonly providers: readonly Provider[],
    private readonly allowAnonymous: boolean,
    /** Every identity header a client must not send (all providers' claimsToHeaders, internal token). */
    private readonly guarded: readonly string[],
  ) {}

  describe(): string {
    const who = this.providers.length > 0 ? `providers ${this.providers.map((p) => p.name).join(', ')}` : 'no providers';
    return this.allowAnonymous ? `${who}, anonymous allowed` : `${who}, token required`;
  }

  onRequest(ex: Exchange): FilterResult | Promise<FilterResult> {
    stripHeaders(ex, this.guarded);
    return this.tryFrom(ex, 0, null);
  }

  private tryFrom(ex: Exchange, from: number, attempt: Attempt | null): FilterResult | Promise<FilterResult> {
    const headers = ex.req.headers;
    for (let i = from; i < this.providers.length; i++) {
      const p = this.providers[i];
      const found = findToken(p.sources, headers);
      if (found === null) continue;
      const r = p.verify(found.token);
      if (r instanceof Promise) {
        return r.then((v) => (v.ok ? accept(ex, p, found, v) : this.tryFrom(ex, i + 1, note(attempt, p, found, v.reason))));
      }
      if (r.ok) return accept(ex, p, found, r);
      attempt = note(attempt, p, found, r.reason);
    }
    return this.finish(ex, attempt);
  }

  private finish(ex: Exchange, attempt: Attempt | null): FilterResult {
    if (attempt === null) return fail('missing', this.allowAnonymous);
    if (this.allowAnonymous) {
      for (const t of attempt.refused) if (!t.provider.forwardToken) stripToken(ex, t.found);
    }
    return fail(attempt.reason, this.allowAnonymous);
  }
}

function accept(ex: Exchange, p: Provider, found: FoundToken, v: Verified): undefined {
  ex.claims = v.claims as Record<string, unknown>;
  const pairs = v.headerPairs;
  if (pairs !== null) {
    const add = (ex.upstreamHeadersAdd ??= []);
    for (let k = 0; k < pairs.length; k++) add.push(pairs[k]);
  }
  if (!p.forwardToken) stripToken(ex, found);
  return undefined;
}

function note(attempt: Attempt | null, provider: Provider, found: FoundToken, reason: FailureReason): Attempt {
  const a = attempt ?? { refused: [], reason };
  a.reason = reason;
  a.refused.push({ provider, found });
  return a;
}
