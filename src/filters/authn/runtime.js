import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { InternalTokenFilter } from "../internal-token/filter.js";
import { InternalTokenMinter, loadSigningKey } from "../internal-token/minter.js";
import { AuthnFilter, stripHeaders } from "./filter.js";
import { parseJwks, RemoteKeySet, StaticKeySet } from "./key-set.js";
import { Provider } from "./provider.js";
function fingerprint(...parts) {
    const h = createHash('sha256');
    for (const p of parts)
        h.update(p ?? '\0').update('\x1f');
    return h.digest('hex');
}
async function readOrError(file, path, errors) {
    try {
        return await readFile(file, 'utf8');
    }
    catch (err) {
        errors.push({ path, message: `cannot read: ${err.code ?? err.message}` });
        return null;
    }
}
class Guard {
    names;
    name = 'identity-header-guard';
    constructor(names) {
        this.names = names;
    }
    onRequest(ex) {
        stripHeaders(ex, this.names);
        return undefined;
    }
}
export async function compileAuthn(cfg, redis, previous, errors) {
    const created = [];
    const warming = [];
    const providers = new Map();
    const keySets = new Map();
    for (const [i, p] of (cfg?.providers ?? []).entries()) {
        const path = `authn.providers[${i}]`;
        const ca = p.jwksCaFile ? await readOrError(p.jwksCaFile, `${path}.jwksCaFile`, errors) : undefined;
        const file = p.jwksFile ? await readOrError(p.jwksFile, `${path}.jwksFile`, errors) : undefined;
        if (ca === null || file === null)
            continue;
        // The key set is keyed by its source only: a provider whose other settings change keeps its keys.
        const keysFp = fingerprint(p.jwksUri, ca, file, p.jwks ? JSON.stringify(p.jwks) : undefined);
        let keys = keySets.get(keysFp) ?? previous?.keySets.get(keysFp);
        if (!keys) {
            try {
                if (p.jwksUri)
                    keys = new RemoteKeySet({ name: p.name, url: p.jwksUri, caPem: ca });
                else if (file !== undefined)
                    keys = new StaticKeySet(parseJwks(JSON.parse(file)));
                else
                    keys = new StaticKeySet(parseJwks(p.jwks));
            }
            catch (err) {
                const at = p.jwksFile ? `${path}.jwksFile` : `${path}.jwks`;
                errors.push({ path: at, message: `invalid JWKS: ${err.message}` });
                continue;
            }
            created.push(keys);
            if (keys.firstLoad)
                warming.push({ what: `JWKS of authn provider ${p.name}`, ready: keys.firstLoad });
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
    let minter = null;
    const it = cfg?.internalToken;
    if (it) {
        const pem = await readOrError(it.signingKeyFile, 'authn.internalToken.signingKeyFile', errors);
        if (pem !== null) {
            const redisCfg = it.cache === 'redis' ? redis : undefined;
            const fp = fingerprint(JSON.stringify(it), JSON.stringify(redisCfg ?? null), pem);
            const old = previous?.internalToken ?? null;
            if (old && old.fingerprint === fp) {
                minter = old;
            }
            else {
                try {
                    const key = await loadSigningKey(pem);
                    minter = new InternalTokenMinter(it, fp, key, redisCfg, old);
                    created.push(minter);
                    if (minter.redisReady)
                        warming.push({ what: 'Redis for the internal token cache', ready: minter.redisReady });
                }
                catch (err) {
                    errors.push({ path: 'authn.internalToken.signingKeyFile', message: `invalid signing key: ${err.message}` });
                }
            }
        }
    }
    const guarded = new Set();
    for (const p of providers.values())
        for (const h of p.claimHeaderNames)
            guarded.add(h);
    if (minter)
        guarded.add(minter.header);
    const guardedHeaders = Object.freeze([...guarded]);
    const guard = guardedHeaders.length > 0 ? new Guard(guardedHeaders) : null;
    const internalTokenFilter = minter ? new InternalTokenFilter(minter) : null;
    const runtime = Object.freeze({
        providers,
        keySets,
        internalToken: minter,
        guardedHeaders,
        guard,
        internalTokenFilter,
        filterFor(req) {
            // Unknown names were reported by validate.ts; a provider that failed to build above was too.
            const list = (req.providers ?? []).map((n) => providers.get(n)).filter((p) => p !== undefined);
            return new AuthnFilter(list, req.allowAnonymous, guardedHeaders);
        },
        jwks: () => (minter ? minter.jwks() : { keys: [] }),
        close() {
            for (const p of providers.values())
                p.close();
            for (const k of keySets.values())
                k.close();
            minter?.close();
        },
    });
    const retired = [];
    if (previous) {
        for (const p of previous.providers.values())
            if (providers.get(p.name) !== p)
                retired.push(p);
        const kept = new Set(keySets.values());
        for (const k of previous.keySets.values())
            if (!kept.has(k))
                retired.push(k);
        if (previous.internalToken && previous.internalToken !== minter)
            retired.push(previous.internalToken);
    }
    return { runtime, retired, created, warming };
}
