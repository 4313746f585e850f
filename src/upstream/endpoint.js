import { Pool, buildConnector } from 'undici';
import { isIP } from 'node:net';
export class Endpoint {
    address; // "host:port" as configured or discovered
    host;
    port;
    weight;
    /** RFC 2782 priority (lower is preferred); 0 for static and DNS endpoints. */
    priority;
    /** Requests in flight (least_request reads it). */
    active = 0;
    healthy = true;
    ejected = false;
    // Outlier detection state (upstream/outlier.ts).
    consecutive5xx = 0;
    consecutiveGatewayErrors = 0;
    timesEjected = 0;
    ejectedUntil = 0;
    /** Sent as undici's `servername` on every dispatch, so the client's Host never becomes the SNI. */
    servername;
    /** The connector (TLS options, SAN check, timeout) so health checks connect exactly like traffic. */
    connect;
    origin;
    pool;
    constructor(host, port, weight, opts, priority = 0, hostname) {
        this.host = host;
        this.port = port;
        this.weight = weight;
        this.priority = priority;
        this.address = host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
        this.origin = `${opts.tls ? 'https' : 'http'}://${this.address}`;
        this.servername = opts.serverName ?? hostname ?? host;
        this.connect = endpointConnector(opts);
        this.pool = new Pool(this.origin, {
            connections: opts.maxConnections,
            pipelining: 1,
            allowH2: opts.http2,
            keepAliveTimeout: 30_000,
            keepAliveMaxTimeout: 600_000,
            connect: this.connect,
        });
    }
    /** Taking traffic: passing health checks and not ejected. */
    get available() {
        return this.healthy && !this.ejected;
    }
    /** Lets in-flight requests finish, then closes the connections. */
    close() {
        return this.pool.close().catch(() => undefined);
    }
}
/**
 * undici's connector with verification forced on. An IP servername is dropped (SNI may not carry
 * an IP; Node then verifies the IP against the certificate's IP SANs).
 */
export function endpointConnector(opts) {
    const base = buildConnector({
        ...(opts.tls ?? {}),
        // Certificate verification is never off: a caller cannot override this.
        ...(opts.tls ? { rejectUnauthorized: true } : {}),
        timeout: opts.connectTimeoutMs,
        // HTTP/2 over TLS is negotiated by ALPN; without TLS it is prior-knowledge h2c.
        ...(opts.http2 ? (opts.tls ? { allowH2: true } : { useH2c: true }) : {}),
    });
    return (o, cb) => base(o.servername && isIP(o.servername) !== 0 ? { ...o, servername: undefined } : o, cb);
}
