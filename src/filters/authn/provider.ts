import { hash } from 'node:crypto';
import { jwtVerify, type JWTPayload, type JWTVerifyOptions } from 'jose';
import { LRUCache } from 'lru-cache';
import type { AuthnProviderConfig } from '../../config/schema.ts';
import { claimHeaderValue, compileClaimPath } from './claims.ts';
import type { KeySet } from './key-set.ts';
import { compileTokenSources, type TokenSource } from './token-source.ts';

// One edge token provider (OIDC / Cloudflare Access): where its token is, how it is verified, and a
// cache of tokens it verified. Built once per config and reused across reloads while unchanged.

/** A verified token, shared by every request that presents it again (never mutated). */
export interface Verified {
  readonly ok: true;
  readonly claims: Readonly<Record<string, unknown>>;
  /** claimsToHeaders, computed once: flat [name, value, …] pairs, or null. */
  readonly headerPairs: readonly string[] | null;
  /** Epoch ms after which the cache entry is no longer used. */
  readonly validUntil: number;
}

/** Why a token was refused; `reason` is the metric label. */
export interface Refused {
  readonly ok: false;
  readonly reason: FailureReason;
}

export type FailureReason =
  | 'missing'
  | 'malformed'
  | 'too_large'
  | 'expired'
  | 'not_yet_valid'
  | 'issued_in_future'
  | 'issuer'
  | 'audience'
  | 'algorithm'
  | 'signature'
  | 'unknown_kid'
  | 'claims';

export type VerifyResult = Verified | Refused;

/** Longer tokens are refused before any parsing (real OIDC tokens are a few KiB at most). */
export const MAX_TOKEN_LENGTH = 16 * 1024;
/** A verified token is trusted from the cache for at most this long (a removed JWKS key takes effect). */
export const CACHE_CAP_MS = 5 * 60_000;
const CACHE_MAX_ENTRIES = 10_000;
/** How long a request with an unknown kid may wait for the shared JWKS refetch. */
const UNKNOWN_KID_WAIT_MS = 2_000;

const refusals = new Map<FailureReason, Refused>();
export function refused(reason: FailureReason): Refused {
  let r = refusals.get(reason);
  if (!r) refusals.set(reason, (r = Object.freeze({ ok: false, reason })));
  return r;
}

function reasonOf(err: unknown): FailureReason {
  const e = err as { code?: string; claim?: string };
  switch (e?.code) {
    case 'ERR_JWT_EXPIRED':
      return 'expired';
    case 'ERR_JWT_CLAIM_VALIDATION_FAILED':
      if (e.claim === 'nbf') return 'not_yet_valid';
      if (e.claim === 'iss') return 'issuer';
      if (e.claim === 'aud') return 'audience';
      return 'claims';
    case 'ERR_JOSE_ALG_NOT_ALLOWED':
      return 'algorithm';
    case 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED':
    case 'ERR_JWKS_MULTIPLE_MATCHING_KEYS':
      return 'signature';
    case 'ERR_JWKS_NO_MATCHING_KEY':
      return 'unknown_kid';
    default:
      return 'malformed';
  }
}

function deepFreeze<T>(v: T): T {
  if (typeof v === 'object' && v !== null && !Object.isFrozen(v)) {
    Object.freeze(v);
    for (const x of Object.values(v)) deepFreeze(x);
  }
  return v;
}

function withinBound<T>(p: Promise<T>, ms: number, fallback: T): Promise<T> {
  let t: NodeJS.Timeout;
  return Promise.race([p, new Promise<T>((r) => (t = setTimeout(() => r(fallback), ms)))]).finally(() => clearTimeout(t));
}

export class Provider {
  readonly name: string;
  readonly sources: readonly TokenSource[];
  readonly forwardToken: boolean;
  /** Lower-case names of the claimsToHeaders headers (client copies are always removed). */
  readonly claimHeaderNames: readonly string[];
  private readonly claimHeaders: ReadonlyArray<{ header: string; get: (c: Record<string, unknown>) => unknown }>;
  private readonly verifyOptions: JWTVerifyOptions;
  private readonly skewMs: number;
  private readonly cache = new LRUCache<string, Verified>({ max: CACHE_MAX_ENTRIES });
  /** Signature checks done (cache misses); tests and the dashboard read it. */
  verifications = 0;

  constructor(
    cfg: AuthnProviderConfig,
    readonly fingerprint: string,
    readonly keys: KeySet,
  ) {
    this.name = cfg.name;
    this.sources = compileTokenSources(cfg.tokenFrom);
    this.forwardToken = cfg.forwardToken;
    this.claimHeaders = Object.entries(cfg.claimsToHeaders).map(([claim, header]) => ({
      header: header.toLowerCase(),
      get: compileClaimPath(claim),
    }));
    this.claimHeaderNames = this.claimHeaders.map((c) => c.header);
    this.skewMs = cfg.clockSkew;
    this.verifyOptions = Object.freeze({
      issuer: cfg.issuer,
      audience: [...cfg.audiences],
      // jose checks the header's alg against this list before it looks for a key, and an HMAC alg
      // can never be listed (the schema allows asymmetric algorithms only), so `none` and
      // HS256-with-the-public-key are refused up front.
      algorithms: [...cfg.algorithms],
      clockTolerance: Math.floor(cfg.clockSkew / 1000),
      requiredClaims: ['exp'],
    });
  }

  /** Cached tokens answer synchronously (a hash and a lookup); others are verified asynchronously. */
  verify(token: string): VerifyResult | Promise<VerifyResult> {
    if (token.length > MAX_TOKEN_LENGTH) return refused('too_large');
    const key = hash('sha256', token, 'base64'); // one-shot: no Hash object per request
    const hit = this.cache.get(key);
    if (hit !== undefined) {
      if (hit.validUntil > Date.now()) return hit;
      this.cache.delete(key);
    }
    return this.verifySlow(token, key);
  }

  private async verifySlow(token: string, key: string): Promise<VerifyResult> {
    let payload: JWTPayload;
    try {
      payload = await this.check(token);
    } catch (err) {
      const reason = reasonOf(err);
      if (reason !== 'unknown_kid') return refused(reason);
      // A kid we do not know: perhaps the issuer rotated. Await the shared refetch (bounded), once.
      const refetch = this.keys.refetchForUnknownKid();
      if (refetch === null || !(await withinBound(refetch, UNKNOWN_KID_WAIT_MS, false))) return refused(reason);
      try {
        payload = await this.check(token);
      } catch (err2) {
        return refused(reasonOf(err2));
      }
    }
    const now = Date.now();
    // jose checks iat only with maxTokenAge; a token issued in the future is refused here.
    if (typeof payload.iat === 'number' && payload.iat * 1000 > now + this.skewMs) return refused('issued_in_future');
    const claims = deepFreeze(payload as Record<string, unknown>);
    const v: Verified = Object.freeze({
      ok: true,
      claims,
      headerPairs: this.headerPairs(claims),
      validUntil: Math.min(payload.exp! * 1000 + this.skewMs, now + CACHE_CAP_MS),
    });
    this.cache.set(key, v);
    return v;
  }

  private async check(token: string): Promise<JWTPayload> {
    this.verifications++;
    try {
      return (await jwtVerify(token, this.keys.resolve, this.verifyOptions)).payload;
    } catch (err) {
      // No kid and several keys of the right type: try each (jose hands them over as an async iterator).
      if ((err as { code?: string }).code !== 'ERR_JWKS_MULTIPLE_MATCHING_KEYS') throw err;
      let last: unknown = err;
      for await (const key of err as AsyncIterable<CryptoKey>) {
        try {
          return (await jwtVerify(token, key, this.verifyOptions)).payload;
        } catch (e) {
          last = e;
          if ((e as { code?: string }).code !== 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED') throw e;
        }
      }
      throw last;
    }
  }

  private headerPairs(claims: Record<string, unknown>): string[] | null {
    if (this.claimHeaders.length === 0) return null;
    const out: string[] = [];
    for (const c of this.claimHeaders) {
      const v = claimHeaderValue(c.get(claims));
      if (v !== null) out.push(c.header, v);
    }
    return Object.freeze(out) as string[];
  }

  /** Drops the cache; the key set is owned (and closed) by the authn runtime, as providers may share it. */
  close(): void {
    this.cache.clear();
  }
}
