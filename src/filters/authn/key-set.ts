import { rootCertificates } from 'node:tls';
import { Agent, request } from 'undici';
import { createLocalJWKSet, errors as joseErrors, type JSONWebKeySet, type JWTVerifyGetKey } from 'jose';
import { log } from '../../observability/logger.ts';

// A provider's verification keys. Static sets (inline `jwks`, `jwksFile`) are built once. A remote
// set (`jwksUri`) is fetched in the background: first at compile time (readiness waits for it,
// bounded), then every `max-age` of its Cache-Control (clamped to 30 s…1 h; 5 min without one), on
// a backoff while the server fails — the last good set keeps serving — and on demand when a token
// names an unknown `kid`, at most once per cooldown. A request never starts its own fetch: at most
// it awaits the one shared refetch, with a short bound.

export interface KeySet {
  /** The current key resolver for jose's jwtVerify (throws JWKSNoMatchingKey when no set is loaded). */
  readonly resolve: JWTVerifyGetKey;
  /**
   * A token named a kid we do not know: the shared refetch to await (bounded by the caller), or null
   * when no refetch is possible (static set, or within the cooldown).
   */
  refetchForUnknownKid(): Promise<boolean> | null;
  /** Settles when the first remote fetch succeeded (never rejects); null for a static set. */
  readonly firstLoad: Promise<void> | null;
  close(): void;
}

/** Only `keys` counts: Cloudflare's certs JSON also carries `public_cert`/`public_certs`, ignored. */
export function parseJwks(body: unknown): JSONWebKeySet {
  if (typeof body !== 'object' || body === null || !Array.isArray((body as { keys?: unknown }).keys)) {
    throw new Error('not a JWKS: expected an object with a "keys" list');
  }
  const keys = ((body as { keys: unknown[] }).keys).filter((k): k is Record<string, unknown> => typeof k === 'object' && k !== null && !Array.isArray(k));
  if (keys.length === 0) throw new Error('the JWKS has no keys');
  for (const k of keys) {
    // A private or symmetric member means someone published the wrong thing: refuse the whole set.
    if ('d' in k || k.kty === 'oct') throw new Error('the JWKS holds private or symmetric key material');
  }
  return { keys: keys as unknown as JSONWebKeySet['keys'] };
}

/** The URL without credentials or query (either could hold a secret), for logs. */
function safeUrl(u: string): string {
  try {
    const url = new URL(u);
    return `${url.origin}${url.pathname}`;
  } catch {
    return '(invalid url)';
  }
}

function noKeys(): never {
  throw new joseErrors.JWKSNoMatchingKey('no key set loaded yet');
}

export class StaticKeySet implements KeySet {
  readonly resolve: JWTVerifyGetKey;
  readonly firstLoad = null;
  constructor(jwks: JSONWebKeySet) {
    this.resolve = createLocalJWKSet(jwks);
  }
  refetchForUnknownKid(): null {
    return null;
  }
  close(): void {}
}

export interface RemoteKeySetOptions {
  /** Provider name, for logs. */
  readonly name: string;
  readonly url: string;
  /** Extra trusted CA certificates (PEM), added to the default roots. */
  readonly caPem?: string;
  readonly timeoutMs?: number;
  readonly defaultRefreshMs?: number;
  readonly unknownKidCooldownMs?: number;
}

const MAX_BODY = 1 << 20;
const MIN_REFRESH_MS = 30_000;
const MAX_REFRESH_MS = 3_600_000;
const MAX_RETRY_MS = 60_000;

export class RemoteKeySet implements KeySet {
  /** Key sets created and not closed, in this process (a leak shows here; tests read it). */
  static open = 0;
  readonly firstLoad: Promise<void>;
  /** Fetches started (tests and the dashboard read it). */
  fetches = 0;
  private current: JWTVerifyGetKey | null = null;
  private inflight: Promise<boolean> | null = null;
  private lastKidRefetch = -Infinity;
  private timer: NodeJS.Timeout | null = null;
  private retryMs = 1000;
  private failing = false;
  private closed = false;
  private loaded!: () => void;
  private readonly agent: Agent;
  private readonly timeoutMs: number;
  private readonly defaultRefreshMs: number;
  private readonly cooldownMs: number;

  readonly resolve: JWTVerifyGetKey = (header, token) => (this.current ?? noKeys)(header, token);

  constructor(private readonly o: RemoteKeySetOptions) {
    RemoteKeySet.open++;
    this.timeoutMs = o.timeoutMs ?? 5000;
    this.defaultRefreshMs = o.defaultRefreshMs ?? 300_000;
    this.cooldownMs = o.unknownKidCooldownMs ?? 30_000;
    this.agent = new Agent({
      connect: { timeout: this.timeoutMs, ...(o.caPem ? { ca: [...rootCertificates, o.caPem] } : {}) },
      headersTimeout: this.timeoutMs,
      bodyTimeout: this.timeoutMs,
      connections: 2,
    });
    this.firstLoad = new Promise<void>((r) => (this.loaded = r));
    void this.fetch();
  }

  refetchForUnknownKid(): Promise<boolean> | null {
    if (this.inflight) return this.inflight;
    const now = Date.now();
    if (now - this.lastKidRefetch < this.cooldownMs) return null;
    this.lastKidRefetch = now;
    return this.fetch();
  }

  /** One fetch at a time; resolves true when a new set was installed. */
  private fetch(): Promise<boolean> {
    if (this.inflight) return this.inflight;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.fetches++;
    this.inflight = this.fetchOnce().finally(() => (this.inflight = null));
    return this.inflight;
  }

  private async fetchOnce(): Promise<boolean> {
    let nextMs: number;
    let ok = false;
    try {
      const { jwks, maxAgeMs } = await this.download();
      this.current = createLocalJWKSet(jwks);
      ok = true;
      this.retryMs = 1000;
      nextMs = Math.min(MAX_REFRESH_MS, Math.max(MIN_REFRESH_MS, maxAgeMs ?? this.defaultRefreshMs));
      if (this.failing) log.info({ provider: this.o.name }, 'JWKS fetch recovered');
      this.failing = false;
      this.loaded();
    } catch (err) {
      nextMs = this.retryMs;
      this.retryMs = Math.min(this.retryMs * 2, MAX_RETRY_MS);
      if (!this.failing) {
        log.warn(
          { provider: this.o.name, url: safeUrl(this.o.url), err: (err as Error).message, keptLastGood: this.current !== null },
          'JWKS fetch failed; retrying in the background',
        );
      }
      this.failing = true;
    }
    if (!this.closed) {
      this.timer = setTimeout(() => void this.fetch(), nextMs);
      this.timer.unref();
    }
    return ok;
  }

  private async download(): Promise<{ jwks: JSONWebKeySet; maxAgeMs: number | null }> {
    const res = await request(this.o.url, {
      dispatcher: this.agent,
      method: 'GET',
      headers: { accept: 'application/json' },
      signal: AbortSignal.timeout(this.timeoutMs),
    });
    if (res.statusCode < 200 || res.statusCode > 299) {
      await res.body.dump();
      throw new Error(`HTTP ${res.statusCode}`);
    }
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const c of res.body) {
      size += (c as Buffer).length;
      if (size > MAX_BODY) {
        res.body.destroy();
        throw new Error('JWKS body larger than 1 MiB');
      }
      chunks.push(c as Buffer);
    }
    const jwks = parseJwks(JSON.parse(Buffer.concat(chunks).toString('utf8')));
    const cc = res.headers['cache-control'];
    const m = typeof cc === 'string' ? /max-age=(\d+)/i.exec(cc) : null;
    return { jwks, maxAgeMs: m ? Number(m[1]) * 1000 : null };
  }

  close(): void {
    if (!this.closed) RemoteKeySet.open--;
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    void this.agent.close().catch(() => undefined);
  }
}
