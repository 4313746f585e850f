import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { JSONWebKeySet } from 'jose';
import type { AuthnConfig, AuthnRequirementConfig, RedisConfig } from '../../config/schema.ts';
import type { ConfigError } from '../../config/load.ts';
import type { Exchange } from '../../exchange.ts';
import type { FilterResult, RequestFilter } from '../filter.ts';
import { InternalTokenFilter } from '../internal-token/filter.ts';
import { InternalTokenMinter, loadSigningKey } from '../internal-token/minter.ts';
import { AuthnFilter, stripHeaders, tokenPlacesToStrip } from './filter.ts';
import { parseJwks, RemoteKeySet, StaticKeySet, type KeySet } from './key-set.ts';
import { Provider } from './provider.ts';

// The authn part of a generation: providers (with their key sets and verified-token caches) and the
// internal token minter. Each is keyed by a fingerprint of its config and the files it reads, and
// taken over from the previous generation while unchanged — so a reload neither refetches a JWKS
// nor forgets verified tokens or minted internal tokens.

export interface Closeable {
  close(): void;
}

export interface Warmup {
  readonly what: string;
  readonly ready: Promise<unknown>;
}

export interface AuthnRuntime {
  readonly providers: ReadonlyMap<string, Provider>;
  /** Key sets by source fingerprint: shared by providers with the same JWKS, reused across reloads. */
  readonly keySets: ReadonlyMap<string, KeySet>;
  readonly internalToken: InternalTokenMinter | null;
  /** Lower-case identity headers no client may send through (claimsToHeaders, internal token). */
  readonly guardedHeaders: readonly string[];
  /** Runs on routes without authn: removes client-sent identity headers. null when there are none. */
  readonly guard: RequestFilter | null;
  /** Routes' internal token filter (after authz), or null. */
  readonly internalTokenFilter: RequestFilter | null;
  /** The authn filter for a route's effective `authn` requirement. */
  filterFor(req: AuthnRequirementConfig): RequestFilter;
  /** Public keys of the internal token, for admin /.well-known/jwks.json. */
  jwks(): { keys: unknown[] };
  close(): void;
}

export interface AuthnCompiled {
  readonly runtime: AuthnRuntime;
  /** What the previous generation had and this one does not use: close after the swap. */
  readonly retired: Closeable[];
  /** Created by this compile (close them if the compile fails). */
  readonly created: Closeable[];
  /** First JWKS fetches and the Redis connection: readiness waits for them (bounded). */
  readonly warming: Warmup[];
}

function fingerprint(...parts: Array<string | Buffer | undefined>): string {
  const h = createHash('sha256');
  for (const p of parts) h.update(p ?? '\0').update('\x1f');
  return h.digest('hex');
}

async function readOrError(file: string, path: string, errors: ConfigError[]): Promise<string | null> {
  try {
    return await readFile(file, 'utf8');
  } catch (err) {
    errors.push({ path, message: `cannot read: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}` });
    return null;
  }
}

class Guard implements RequestFilter {
  readonly name = 'identity-header-guard';
  constructor(private readonly names: readonly string[]) {}
  describe(): string {
    return `removes client-sent ${this.names.join(', ')}`;
  }
  onRequest(ex: Exchange): FilterResult {
    stripHeaders(ex, this.names);
    return undefined;
  }
}

export async function compileAuthn(
  cfg: AuthnConfig | undefined,
  redis: RedisConfig | undefined,
  previous: AuthnRuntime | undefined,
  errors: ConfigError[],
): Promise<AuthnCompiled> {
  const created: Closeable[] = [];
  const warming: Warmup[] = [];
  const providers = new Map<string, Provider>();

  const keySets = new Map<string, KeySet>();

  for (const [i, p] of (cfg?.providers ?? []).entries()) {
    const path = `authn.providers[${i}]`;
    const ca = p.jwksCaFile ? await readOrError(p.jwksCaFile, `${path}.jwksCaFile`, errors) : undefined;
    const file = p.jwksFile ? await readOrError(p.jwksFile, `${path}.jwksFile`, errors) : undefined;
    if (ca === null || file === null) continue;
    // The key set is keyed by its source only: a provider whose other settings change keeps its keys.
    const keysFp = fingerprint(p.jwksUri, ca, file, p.jwks ? JSON.stringify(p.jwks) : undefined);
    let keys = keySets.get(keysFp) ?? previous?.keySets.get(keysFp);
    if (!keys) {
      try {
        if (p.jwksUri) keys = new RemoteKeySet({ name: p.name, url: p.jwksUri, caPem: ca });
        else if (file !== undefined) keys = new StaticKeySet(parseJwks(JSON.parse(file)));
        else keys = new StaticKeySet(parseJwks(p.jwks as JSONWebKeySet));
      } catch (err) {
        const at = p.jwksFile ? `${path}.jwksFile` : `${path}.jwks`;
        errors.push({ path: at, message: `invalid JWKS: ${(err as Error).message}` });
        continue;
      }
      created.push(keys);
      if (keys.firstLoad) warming.push({ what: `JWKS of authn provider ${p.name}`, ready: keys.firstLoad });
    }
    keySets.set(keysFp, keys);
    const fp = fingerprint(JSON.stringify(p), keysFp);
    const old = previous?.providers.get(p.name);
    if (old && old.fingerprint === fp && old.keys === keys) {
      providers.set(p.name, old);
      continue;
    }
    const provider = new Provider(p, fp, keys);
    created.push(provider);
    providers.set(p.name, provider);
  }

  let minter: InternalTokenMinter | null = null;
  const it = cfg?.internalToken;
  if (it) {
    const pem = await readOrError(it.signingKeyFile, 'authn.internalToken.signingKeyFile', errors);
    if (pem !== null) {
      const redisCfg = it.cache === 'redis' ? redis : undefined;
      const fp = fingerprint(JSON.stringify(it), JSON.stringify(redisCfg ?? null), pem);
      const old = previous?.internalToken ?? null;
      if (old && old.fingerprint === fp) {
        minter = old;
      } else {
        try {
          const key = await loadSigningKey(pem);
          // ioredis is loaded only for a Redis-backed cache
          const redisClient = redisCfg ? (await import('ioredis')).Redis : null;
          minter = new InternalTokenMinter(it, fp, key, redisCfg && redisClient ? { cfg: redisCfg, client: redisClient } : undefined, old);
          created.push(minter);
          if (minter.redisReady) warming.push({ what: 'Redis for the internal token cache', ready: minter.redisReady });
        } catch (err) {
          errors.push({ path: 'authn.internalToken.signingKeyFile', message: `invalid signing key: ${(err as Error).message}` });
        }
      }
    }
  }

  const guarded = new Set<string>();
  for (const p of providers.values()) for (const h of p.claimHeaderNames) guarded.add(h);
  if (minter) guarded.add(minter.header);
  const guardedHeaders = Object.freeze([...guarded]);
  const guard = guardedHeaders.length > 0 ? new Guard(guardedHeaders) : null;
  const internalTokenFilter = minter ? new InternalTokenFilter(minter) : null;

  const runtime: AuthnRuntime = Object.freeze({
    providers,
    keySets,
    internalToken: minter,
    guardedHeaders,
    guard,
    internalTokenFilter,
    filterFor(req: AuthnRequirementConfig): RequestFilter {
      // Unknown names were reported by validate.ts; a provider that failed to build above was too.
      const list = (req.providers ?? []).map((n) => providers.get(n)).filter((p): p is Provider => p !== undefined);
      // `{ allowAnonymous: true }` without providers looks at no token, yet strips every provider's
      // forwardToken: false places, so no edge token slips through an anonymous route.
      const places = tokenPlacesToStrip(req.providers === undefined || req.providers.length === 0 ? providers.values() : list);
      return new AuthnFilter(list, req.allowAnonymous, guardedHeaders, places);
    },
    jwks: () => (minter ? minter.jwks() : { keys: [] }),
    close() {
      for (const p of providers.values()) p.close();
      for (const k of keySets.values()) k.close();
      minter?.close();
    },
  });

  const retired: Closeable[] = [];
  if (previous) {
    for (const p of previous.providers.values()) if (providers.get(p.name) !== p) retired.push(p);
    const kept = new Set(keySets.values());
    for (const k of previous.keySets.values()) if (!kept.has(k)) retired.push(k);
    if (previous.internalToken && previous.internalToken !== minter) retired.push(previous.internalToken);
  }
  return { runtime, retired, created, warming };
}
