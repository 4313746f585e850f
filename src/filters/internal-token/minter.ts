import { createHash, createPrivateKey, createPublicKey, randomUUID, type KeyObject } from 'node:crypto';
import { calculateJwkThumbprint, importPKCS8, SignJWT, type CryptoKey, type JWK } from 'jose';
import { LRUCache } from 'lru-cache';
import type { Redis } from 'ioredis';
import type { InternalTokenConfig, RedisConfig } from '../../config/schema.ts';
import { log } from '../../observability/logger.ts';

// Internal tokens for the mesh (`authn.internalToken`): after edge validation the gateway mints a
// short-lived JWT describing the caller, signed with `signingKeyFile`. Minting costs a signature,
// so a token is reused per edge identity until shortly before it expires — from a bounded LRU in
// this process, and with `cache: redis` from Redis too, so every replica hands out the same token.
// Redis trouble never fails a request: the gateway mints locally and carries on.

/** Edge claims copied into the internal token besides `sub` (when present). */
export const FORWARDED_CLAIMS = ['email', 'name', 'preferred_username', 'groups', 'roles'] as const;

const MEMORY_MAX = 10_000;
const REDIS_TIMEOUT_MS = 500;

interface PublishedKey {
  readonly jwk: JWK;
  /** Epoch ms until which the key is published (Infinity for the current key). */
  readonly until: number;
}

interface CachedToken {
  /** The header value: `Bearer <jwt>`. */
  readonly value: string;
  readonly reuseUntil: number;
}

export interface SigningKey {
  readonly alg: 'RS256' | 'ES256' | 'ES384' | 'ES512' | 'EdDSA';
  readonly kid: string;
  readonly key: CryptoKey;
  readonly publicJwk: JWK;
}

function algFor(k: KeyObject): SigningKey['alg'] {
  if (k.asymmetricKeyType === 'rsa') return 'RS256';
  if (k.asymmetricKeyType === 'ec') {
    const curve = k.asymmetricKeyDetails?.namedCurve;
    if (curve === 'prime256v1') return 'ES256';
    if (curve === 'secp384r1') return 'ES384';
    if (curve === 'secp521r1') return 'ES512';
    throw new Error(`unsupported EC curve ${curve}`);
  }
  if (k.asymmetricKeyType === 'ed25519') return 'EdDSA';
  throw new Error(`unsupported key type ${k.asymmetricKeyType} (expected RSA or EC)`);
}

/** A PEM private key (PKCS#8, PKCS#1 or SEC1) → signing key; the algorithm follows the key type. */
export async function loadSigningKey(pem: string): Promise<SigningKey> {
  const priv = createPrivateKey(pem);
  const alg = algFor(priv);
  const pkcs8 = priv.export({ type: 'pkcs8', format: 'pem' }) as string;
  const key = await importPKCS8(pkcs8, alg);
  const pub = createPublicKey(priv).export({ format: 'jwk' }) as JWK;
  const kid = await calculateJwkThumbprint(pub, 'sha256');
  return { alg, kid, key, publicJwk: Object.freeze({ ...pub, kid, alg, use: 'sig' }) };
}

export class InternalTokenMinter {
  readonly header: string;
  /** Set when `cache: redis`: resolves once the connection is up (readiness waits for it, bounded). */
  readonly redisReady: Promise<void> | null = null;
  /** Keys published at /.well-known/jwks.json, with how long each stays there. */
  readonly published: readonly PublishedKey[];
  private readonly memory = new LRUCache<string, CachedToken>({ max: MEMORY_MAX });
  private readonly inflight = new Map<string, Promise<string>>();
  private readonly redis: Redis | null = null;
  private readonly redisPrefix: string;
  readonly ttlMs: number;
  private readonly marginMs: number;
  private redisDown = false;
  /** Tokens signed by this process (tests and the dashboard read it). */
  minted = 0;

  constructor(
    private readonly cfg: InternalTokenConfig,
    readonly fingerprint: string,
    private readonly signing: SigningKey,
    redisCache: { cfg: RedisConfig; client: typeof Redis } | undefined,
    previous: InternalTokenMinter | null,
  ) {
    const redisCfg = redisCache?.cfg;
    this.header = cfg.header.toLowerCase();
    this.ttlMs = cfg.ttl;
    // Reuse a token until this long before it expires: 30 s, or a tenth of a short ttl.
    this.marginMs = Math.min(30_000, Math.floor(cfg.ttl / 10));
    this.published = rotate(previous, signing.publicJwk);
    this.redisPrefix = `${redisCfg?.keyPrefix ?? 'gatehouse:'}itok:`;
    if (cfg.cache === 'redis' && redisCache) {
      const redis = new redisCache.client(redisCache.cfg.url, {
        enableOfflineQueue: false,
        maxRetriesPerRequest: 1,
        connectTimeout: 2000,
        commandTimeout: REDIS_TIMEOUT_MS,
        retryStrategy: (n) => Math.min(n * 200, 5000),
        lazyConnect: false,
      });
      redis.on('error', (err) => {
        if (!this.redisDown) log.warn({ err: err.message }, 'internal token cache: Redis unavailable; minting locally');
        this.redisDown = true;
      });
      redis.on('ready', () => {
        if (this.redisDown) log.info('internal token cache: Redis back');
        this.redisDown = false;
      });
      this.redis = redis;
      this.redisReady = new Promise<void>((r) => redis.once('ready', () => r()));
    }
  }

  /** The public keys to publish at /.well-known/jwks.json (current key plus recently rotated ones). */
  jwks(): { keys: JWK[] } {
    const now = Date.now();
    return { keys: this.published.filter((k) => k.until > now).map((k) => k.jwk) };
  }

  /** `Bearer <jwt>` for this edge identity: synchronous when cached in memory. */
  tokenFor(claims: Readonly<Record<string, unknown>>): string | Promise<string> {
    const body = internalClaims(claims);
    const id = createHash('sha256').update(JSON.stringify(body)).digest('base64url');
    const hit = this.memory.get(id);
    if (hit !== undefined && hit.reuseUntil > Date.now()) return hit.value;
    let p = this.inflight.get(id);
    if (p === undefined) {
      p = this.obtain(id, body).finally(() => this.inflight.delete(id));
      this.inflight.set(id, p);
    }
    return p;
  }

  private async obtain(id: string, body: Record<string, unknown>): Promise<string> {
    const redisKey = `${this.redisPrefix}${this.signing.kid}:${id}`;
    const redis = this.redis !== null && this.redis.status === 'ready' ? this.redis : null;
    if (redis) {
      const shared = await this.redisGet(redis, redisKey);
      if (shared) return this.remember(id, shared);
    }
    const mine = await this.sign(body);
    if (redis) {
      // NX: when two replicas race, the first one's token wins and both hand it out.
      const stored = await this.redisSetNx(redis, redisKey, mine);
      if (stored === false) {
        const theirs = await this.redisGet(redis, redisKey);
        if (theirs) return this.remember(id, theirs);
      }
    }
    return this.remember(id, mine);
  }

  private remember(id: string, t: { jwt: string; exp: number }): string {
    const value = `Bearer ${t.jwt}`;
    this.memory.set(id, { value, reuseUntil: t.exp - this.marginMs });
    return value;
  }

  private async sign(body: Record<string, unknown>): Promise<{ jwt: string; exp: number }> {
    const now = Date.now();
    const iat = Math.floor(now / 1000);
    const exp = iat + Math.floor(this.ttlMs / 1000);
    const jwt = await new SignJWT(body)
      .setProtectedHeader({ alg: this.signing.alg, kid: this.signing.kid, typ: 'JWT' })
      .setIssuer(this.cfg.issuer)
      .setAudience(this.cfg.audience)
      .setIssuedAt(iat)
      .setExpirationTime(exp)
      .setJti(randomUUID())
      .sign(this.signing.key);
    this.minted++;
    return { jwt, exp: exp * 1000 };
  }

  private async redisGet(redis: Redis, key: string): Promise<{ jwt: string; exp: number } | null> {
    try {
      const raw = await redis.get(key);
      if (raw === null) return null;
      const v = JSON.parse(raw) as { jwt?: unknown; exp?: unknown };
      if (typeof v.jwt !== 'string' || typeof v.exp !== 'number' || v.exp - this.marginMs <= Date.now()) return null;
      return { jwt: v.jwt, exp: v.exp };
    } catch {
      return null; // Redis slow or down, or a foreign value: mint locally
    }
  }

  /** true: stored; false: someone else's is there; null: Redis failed. */
  private async redisSetNx(redis: Redis, key: string, t: { jwt: string; exp: number }): Promise<boolean | null> {
    const ms = t.exp - this.marginMs - Date.now();
    if (ms <= 0) return null;
    try {
      return (await redis.set(key, JSON.stringify(t), 'PX', ms, 'NX')) === 'OK';
    } catch {
      return null;
    }
  }

  close(): void {
    this.memory.clear();
    this.redis?.disconnect();
  }
}

/**
 * The claims of the internal token besides iss/aud/iat/exp/jti: `sub`, `edge_iss` and the forwarded
 * claims. `edge_iss` is the verified edge token's issuer: a `sub` only names a user within its
 * issuer, so two identity providers' `alice` must never share a token (nor a cache entry, which
 * is keyed by a hash of exactly these claims).
 */
export function internalClaims(edge: Readonly<Record<string, unknown>>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (typeof edge.sub === 'string') out.sub = edge.sub;
  if (typeof edge.iss === 'string') out.edge_iss = edge.iss;
  for (const c of FORWARDED_CLAIMS) if (edge[c] !== undefined) out[c] = edge[c];
  return out;
}

/**
 * The published keys after a (re)load: the current key, plus the previous generation's keys for as
 * long as tokens they signed can still be valid (the old ttl from now).
 */
function rotate(previous: InternalTokenMinter | null, current: JWK): PublishedKey[] {
  const keys: PublishedKey[] = [{ jwk: current, until: Infinity }];
  if (!previous) return keys;
  const now = Date.now();
  for (const k of previous.published) {
    if (k.jwk.kid === current.kid) continue;
    const until = k.until === Infinity ? now + previous.ttlMs + 60_000 : k.until;
    if (until > now) keys.push({ jwk: k.jwk, until });
  }
  return keys;
}
