import { Errors } from '../../errors.ts';
import type { Exchange } from '../../exchange.ts';
import { authnFailure } from '../../observability/metrics.ts';
import type { FilterResult, Rejection, RequestFilter } from '../filter.ts';
import type { FailureReason, Provider, Verified } from './provider.ts';
import { findToken, samePlace, withoutCookie, type FoundToken, type TokenSource } from './token-source.ts';

// The per-route authn filter (`authn: { providers: [...] }` or `{ allowAnonymous: true }`):
// removes client-sent copies of the identity headers, finds a token for each provider in order and
// accepts the first that verifies. A cached token is handled synchronously.
//
// What reaches the mesh of the edge tokens (decided once, at the end of the filter):
//  - every token place of a provider with `forwardToken: false` is stripped whatever it holds
//    (valid, expired, garbage), and with `{ allowAnonymous: true }` and no providers named, those
//    of every configured provider;
//  - a token some provider refused is stripped whatever `forwardToken` says: a credential that
//    failed validation never reaches the mesh;
//  - only the accepted token of a provider with `forwardToken: true` stays.

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

/** Removes a token place from what goes to the mesh: its header, or only its cookie from Cookie. */
function stripPlace(ex: Exchange, place: TokenSource): void {
  const remove = (ex.upstreamHeadersRemove ??= new Set());
  const cookieName = place.cookie;
  if (cookieName === null) {
    remove.add(place.header);
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
  /** Places of tokens tried and refused (stripped before the mesh). */
  refused: TokenSource[];
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
    /** Token places stripped whatever they hold (providers with forwardToken: false), deduplicated. */
    private readonly stripPlaces: readonly TokenSource[],
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
        return r.then((v) => (v.ok ? this.accept(ex, p, found, v, attempt) : this.tryFrom(ex, i + 1, note(attempt, found, v.reason))));
      }
      if (r.ok) return this.accept(ex, p, found, r, attempt);
      attempt = note(attempt, found, r.reason);
    }
    this.strip(ex, null, attempt);
    return fail(attempt === null ? 'missing' : attempt.reason, this.allowAnonymous);
  }

  private accept(ex: Exchange, p: Provider, found: FoundToken, v: Verified, attempt: Attempt | null): undefined {
    ex.claims = v.claims as Record<string, unknown>;
    const pairs = v.headerPairs;
    if (pairs !== null) {
      const add = (ex.upstreamHeadersAdd ??= []);
      for (let k = 0; k < pairs.length; k++) add.push(pairs[k]);
    }
    this.strip(ex, p.forwardToken ? found.source : null, attempt);
    return undefined;
  }

  /** Strips every place that must not reach the mesh; `kept`: the accepted token's place when it is forwarded. */
  private strip(ex: Exchange, kept: TokenSource | null, attempt: Attempt | null): void {
    const places = this.stripPlaces;
    for (let i = 0; i < places.length; i++) {
      const place = places[i];
      if (kept !== null && samePlace(place, kept)) continue;
      if (place.occupied(ex.req)) stripPlace(ex, place);
    }
    if (attempt === null) return;
    for (const place of attempt.refused) if (kept === null || !samePlace(place, kept)) stripPlace(ex, place);
  }
}

function note(attempt: Attempt | null, found: FoundToken, reason: FailureReason): Attempt {
  const a = attempt ?? { refused: [], reason };
  a.reason = reason;
  a.refused.push(found.source);
  return a;
}

/** The places of `providers` with forwardToken: false, one entry per place. */
export function tokenPlacesToStrip(providers: Iterable<Provider>): TokenSource[] {
  const out: TokenSource[] = [];
  for (const p of providers) {
    if (p.forwardToken) continue;
    for (const s of p.sources) if (!out.some((o) => samePlace(o, s))) out.push(s);
  }
  return out;
}
