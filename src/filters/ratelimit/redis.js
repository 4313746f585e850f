import { Redis } from 'ioredis';
import { log } from "../../observability/logger.js";
import { redisState } from "./metrics.js";
// The Redis connection of the rate-limit store, opened once and kept across reloads while
// `rateLimit.redis` (url, keyPrefix) is unchanged. It fails fast instead of queueing: no offline
// queue, short connect/command timeouts, one retry per command. A failed command makes
// rate-limiter-flexible use the policy's insurance (memory) limiter, so an outage costs no 5xx.
// ioredis reconnects by itself; the outage is logged once when it starts and once when it ends.
// (Other concerns that need the shared Redis, e.g. a minted-token cache, may use `client`.)
let openConnections = 0;
export class RedisConnection {
    url;
    keyPrefix;
    client;
    up = true;
    closing = false;
    constructor(url, keyPrefix) {
        this.url = url;
        this.keyPrefix = keyPrefix;
        this.client = new Redis(url, {
            enableOfflineQueue: false,
            connectTimeout: 1000,
            commandTimeout: 500,
            maxRetriesPerRequest: 1,
            retryStrategy: (times) => Math.min(100 * times, 1000),
        });
        openConnections++;
        redisState.configured = true;
        redisState.up = true;
        this.client.on('ready', () => this.reachable());
        // Without an 'error' listener ioredis prints every failed reconnect; the state change is enough.
        this.client.on('error', (err) => this.unreachable(err.code ?? err.message));
        this.client.on('close', () => this.unreachable('connection closed'));
    }
    /** Waits (briefly) for the first connection, so startup does not look like an outage. */
    async ready(timeoutMs) {
        if (this.client.status === 'ready')
            return true;
        return new Promise((resolve) => {
            const done = (ok) => {
                clearTimeout(timer);
                this.client.off('ready', onReady);
                resolve(ok);
            };
            const onReady = () => done(true);
            const timer = setTimeout(() => {
                this.unreachable('no answer at startup');
                done(false);
            }, timeoutMs);
            this.client.once('ready', onReady);
        });
    }
    /** Called by an insurance limiter each time it answers in Redis's place. */
    fellBack = () => this.unreachable('command failed');
    unreachable(reason) {
        if (this.closing || !this.up)
            return;
        this.up = false;
        redisState.up = false;
        redisState.outages++;
        log.warn({ reason }, 'rate-limit Redis unreachable; each process limits from its own memory until it is back');
    }
    reachable() {
        if (this.closing || this.up)
            return;
        this.up = true;
        redisState.up = true;
        log.info('rate-limit Redis reachable again; shared limits resumed');
    }
    async close() {
        if (this.closing)
            return;
        this.closing = true;
        if (--openConnections === 0)
            redisState.configured = false;
        const quit = this.client.quit().catch(() => undefined);
        const timer = setTimeout(() => this.client.disconnect(), 1000);
        await quit;
        clearTimeout(timer);
        this.client.disconnect();
    }
}
