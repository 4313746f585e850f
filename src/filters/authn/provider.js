import { createHash } from 'node:crypto';
import { jwtVerify } from 'jose';
import { LRUCache } from 'lru-cache';
import { claimHeaderValue, compileClaimPath } from "./claims.js";
import { compileTokenSources } from "./token-source.js";
/** Longer tokens are refused before any parsing (real OIDC tokens are a few KiB at most). */
export const MAX_TOKEN_LENGTH = 16 * 1024;
/** A verified token is trusted from the cache for at most this long (a removed JWKS key takes effect). */
export const CACHE_CAP_MS = 5 * 60_000;
const CACHE_MAX_ENTRIES = 10_000;
/** How long a request with an unknown kid may wait for the shared JWKS refetch. */
const UNKNOWN_KID_WAIT_MS = 2_000;
const refusals = new Map();
export function refused(reason) {
    let r = refusals.get(reason);
    if (!r)
        refusals.set(reason, (r = Object.freeze({ ok: false, reason })));
    return r;
}
function reasonOf(err) {
    const e = err;
    switch (e?.code) {
        case 'ERR_JWT_EXPIRED':
            return 'expired';
        case 'ERR_JWT_CLAIM_VALIDATION_FAILED':
            if (e.claim === 'nbf')
                return 'not_yet_valid';
            if (e.claim === 'iss')
                return 'issuer';
            if (e.claim === 'aud')
                return 'audience';
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
function deepFreeze(v) {
    if (typeof v === 'object' && v !== null && !Object.isFrozen(v)) {
        Object.freeze(v);
        for (const x of Object.values(v))
            deepFreeze(x);
    }
    return v;
}
function withinBound(p, ms, fallback) {
    let t;
    return Promise.race([p, new Promise((r) => (t = setTimeout(() => r(fallback), ms)))]).finally(() => clearTimeout(t));
}
export class Provider {
    fingerprint;
    keys;
    name;
    sources;
    forwardToken;
    /** Lower-case names of the claimsToHeaders headers (client copies are always removed). */
    claimHeaderNames;
    claimHeaders;
    verifyOptions;
    skewMs;
    cache = new LRUCache({ max: CACHE_MAX_ENTRIES });
    /** Signature checks done (cache misses); tests and the dashboard read it. */
    verifications = 0;
    constructor(cfg, fingerprint, keys) {
        this.fingerprint = fingerprint;
        this.keys = keys;
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
    verify(token) {
        if (token.length > MAX_TOKEN_LENGTH)
            return refused('too_large');
        const key = createHash('sha256').update(token).digest('base64');
        const hit = this.cache.get(key);
        if (hit !== undefined) {
            if (hit.validUntil > Date.now())
                return hit;
            this.cache.delete(key);
        }
        return this.verifySlow(token, key);
    }
    async verifySlow(token, key) {
        let payload;
        try {
            payload = await this.check(token);
        }
        catch (err) {
            const reason = reasonOf(err);
            if (reason !== 'unknown_kid')
                return refused(reason);
            // A kid we do not know: perhaps the issuer rotated. Await the shared refetch (bounded), once.
            const refetch = this.keys.refetchForUnknownKid();
            if (refetch === null || !(await withinBound(refetch, UNKNOWN_KID_WAIT_MS, false)))
                return refused(reason);
            try {
                payload = await this.check(token);
            }
            catch (err2) {
                return refused(reasonOf(err2));
            }
        }
        const now = Date.now();
        // jose checks iat only with maxTokenAge; a token issued in the future is refused here.
        if (typeof payload.iat === 'number' && payload.iat * 1000 > now + this.skewMs)
            return refused('issued_in_future');
        const claims = deepFreeze(payload);
        const v = Object.freeze({
            ok: true,
            claims,
            headerPairs: this.headerPairs(claims),
            validUntil: Math.min(payload.exp * 1000 + this.skewMs, now + CACHE_CAP_MS),
        });
        this.cache.set(key, v);
        return v;
    }
    async check(token) {
        this.verifications++;
        try {
            return (await jwtVerify(token, this.keys.resolve, this.verifyOptions)).payload;
        }
        catch (err) {
            // No kid and several keys of the right type: try each (jose hands them over as an async iterator).
            if (err.code !== 'ERR_JWKS_MULTIPLE_MATCHING_KEYS')
                throw err;
            let last = err;
            for await (const key of err) {
                try {
                    return (await jwtVerify(token, key, this.verifyOptions)).payload;
                }
                catch (e) {
                    last = e;
                    if (e.code !== 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED')
                        throw e;
                }
            }
            throw last;
        }
    }
    headerPairs(claims) {
        if (this.claimHeaders.length === 0)
            return null;
        const out = [];
        for (const c of this.claimHeaders) {
            const v = claimHeaderValue(c.get(claims));
            if (v !== null)
                out.push(c.header, v);
        }
        return Object.freeze(out);
    }
    /** Drops the cache; the key set is owned (and closed) by the authn runtime, as providers may share it. */
    close() {
        this.cache.clear();
    }
}
