import { rootCertificates } from 'node:tls';
import { Agent, request } from 'undici';
import { createLocalJWKSet, errors as joseErrors } from 'jose';
import { log } from "../../observability/logger.js";
/** Only `keys` counts: Cloudflare's certs JSON also carries `public_cert`/`public_certs`, ignored. */
export function parseJwks(body) {
    if (typeof body !== 'object' || body === null || !Array.isArray(body.keys)) {
        throw new Error('not a JWKS: expected an object with a "keys" list');
    }
    const keys = (body.keys).filter((k) => typeof k === 'object' && k !== null && !Array.isArray(k));
    if (keys.length === 0)
        throw new Error('the JWKS has no keys');
    for (const k of keys) {
        // A private or symmetric member means someone published the wrong thing: refuse the whole set.
        if ('d' in k || k.kty === 'oct')
            throw new Error('the JWKS holds private or symmetric key material');
    }
    return { keys: keys };
}
/** The URL without credentials or query (either could hold a secret), for logs. */
function safeUrl(u) {
    try {
        const url = new URL(u);
        return `${url.origin}${url.pathname}`;
    }
    catch {
        return '(invalid url)';
    }
}
function noKeys() {
    throw new joseErrors.JWKSNoMatchingKey('no key set loaded yet');
}
export class StaticKeySet {
    resolve;
    firstLoad = null;
    constructor(jwks) {
        this.resolve = createLocalJWKSet(jwks);
    }
    refetchForUnknownKid() {
        return null;
    }
    close() { }
}
const MAX_BODY = 1 << 20;
const MIN_REFRESH_MS = 30_000;
const MAX_REFRESH_MS = 3_600_000;
const MAX_RETRY_MS = 60_000;
export class RemoteKeySet {
    o;
    firstLoad;
    /** Fetches started (tests and the dashboard read it). */
    fetches = 0;
    current = null;
    inflight = null;
    lastKidRefetch = -Infinity;
    timer = null;
    retryMs = 1000;
    failing = false;
    closed = false;
    loaded;
    agent;
    timeoutMs;
    defaultRefreshMs;
    cooldownMs;
    resolve = (header, token) => (this.current ?? noKeys)(header, token);
    constructor(o) {
        this.o = o;
        this.timeoutMs = o.timeoutMs ?? 5000;
        this.defaultRefreshMs = o.defaultRefreshMs ?? 300_000;
        this.cooldownMs = o.unknownKidCooldownMs ?? 30_000;
        this.agent = new Agent({
            connect: { timeout: this.timeoutMs, ...(o.caPem ? { ca: [...rootCertificates, o.caPem] } : {}) },
            headersTimeout: this.timeoutMs,
            bodyTimeout: this.timeoutMs,
            connections: 2,
        });
        this.firstLoad = new Promise((r) => (this.loaded = r));
        void this.fetch();
    }
    refetchForUnknownKid() {
        if (this.inflight)
            return this.inflight;
        const now = Date.now();
        if (now - this.lastKidRefetch < this.cooldownMs)
            return null;
        this.lastKidRefetch = now;
        return this.fetch();
    }
    /** One fetch at a time; resolves true when a new set was installed. */
    fetch() {
        if (this.inflight)
            return this.inflight;
        if (this.timer)
            clearTimeout(this.timer);
        this.timer = null;
        this.fetches++;
        this.inflight = this.fetchOnce().finally(() => (this.inflight = null));
        return this.inflight;
    }
    async fetchOnce() {
        let nextMs;
        let ok = false;
        try {
            const { jwks, maxAgeMs } = await this.download();
            this.current = createLocalJWKSet(jwks);
            ok = true;
            this.retryMs = 1000;
            nextMs = Math.min(MAX_REFRESH_MS, Math.max(MIN_REFRESH_MS, maxAgeMs ?? this.defaultRefreshMs));
            if (this.failing)
                log.info({ provider: this.o.name }, 'JWKS fetch recovered');
            this.failing = false;
            this.loaded();
        }
        catch (err) {
            nextMs = this.retryMs;
            this.retryMs = Math.min(this.retryMs * 2, MAX_RETRY_MS);
            if (!this.failing) {
                log.warn({ provider: this.o.name, url: safeUrl(this.o.url), err: err.message, keptLastGood: this.current !== null }, 'JWKS fetch failed; retrying in the background');
            }
            this.failing = true;
        }
        if (!this.closed) {
            this.timer = setTimeout(() => void this.fetch(), nextMs);
            this.timer.unref();
        }
        return ok;
    }
    async download() {
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
        const chunks = [];
        let size = 0;
        for await (const c of res.body) {
            size += c.length;
            if (size > MAX_BODY) {
                res.body.destroy();
                throw new Error('JWKS body larger than 1 MiB');
            }
            chunks.push(c);
        }
        const jwks = parseJwks(JSON.parse(Buffer.concat(chunks).toString('utf8')));
        const cc = res.headers['cache-control'];
        const m = typeof cc === 'string' ? /max-age=(\d+)/i.exec(cc) : null;
        return { jwks, maxAgeMs: m ? Number(m[1]) * 1000 : null };
    }
    close() {
        this.closed = true;
        if (this.timer)
            clearTimeout(this.timer);
        this.timer = null;
        void this.agent.close().catch(() => undefined);
    }
}
