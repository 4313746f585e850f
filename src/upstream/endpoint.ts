import { Pool, buildConnector } from 'undici';
import { isIP } from 'node:net';
import type { ConnectionOptions } from 'node:tls';
import { jsonStringBytes } from '../util/json-ascii.ts';

// One upstream address with its keep-alive connection pool and its live state.
// The cluster hands balancers only the endpoints that may take traffic; health checks write
// `healthy`, outlier detection writes `ejected` and the counters below.

export interface EndpointPoolOptions {
  readonly tls: ConnectionOptions | null; // null: plain HTTP
  readonly connectTimeoutMs: number;
  readonly maxConnections: number | null; // per endpoint; null: unlimited
  readonly http2: boolean;
  /** SNI and the name verified in the server certificate; default: the endpoint's DNS name, if any. */
  readonly serverName?: string;
}

export class Endpoint {
  readonly address: string; // "host:port" as configured or discovered
  /** The address as a JSON string's bytes, for the access log (observability/access-line.ts). */
  readonly addressJson: Uint8Array;
  readonly host: string;
  readonly port: number;
  weight: number;
  /** RFC 2782 priority (lower is preferred); 0 for static and DNS endpoints. */
  priority: number;
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
  readonly servername: string;
  /** The connector (TLS options, SAN check, timeout) so health checks connect exactly like traffic. */
  readonly connect: buildConnector.connector;
  readonly origin: string;
  private readonly poolOptions: Pool.Options;
  private builtPool: Pool | null = null;
  private closing = false;

  constructor(host: string, port: number, weight: number, opts: EndpointPoolOptions, priority = 0, hostname?: string) {
    this.host = host;
    this.port = port;
    this.weight = weight;
    this.priority = priority;
    this.address = host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
    this.addressJson = jsonStringBytes(this.address);
    this.origin = `${opts.tls ? 'https' : 'http'}://${this.address}`;
    this.servername = opts.serverName ?? hostname ?? host;
    this.connect = endpointConnector(opts);
    this.poolOptions = {
      connections: opts.maxConnections,
      pipelining: 1,
      allowH2: opts.http2,
      keepAliveTimeout: 30_000,
      keepAliveMaxTimeout: 600_000,
      connect: this.connect,
    };
  }

  /**
   * The endpoint's connection pool, built on first use: an undici Pool costs ~60 µs and a few KB to
   * build, and an EDS update that brings 500 endpoints must not build 500 of them in one event-loop
   * turn (~25 ms). A closed endpoint's pool is closed even if it is built after close().
   */
  get pool(): Pool {
    let p = this.builtPool;
    if (p === null) {
      p = this.builtPool = new Pool(this.origin, this.poolOptions);
      if (this.closing) void p.close().catch(() => undefined);
    }
    return p;
  }

  /** Taking traffic: passing health checks and not ejected. */
  get available(): boolean {
    return this.healthy && !this.ejected;
  }

  /** Lets in-flight requests finish, then closes the connections. */
  close(): Promise<void> {
    this.closing = true;
    const p = this.builtPool;
    return p === null ? Promise.resolve() : p.close().catch(() => undefined);
  }
}

/**
 * undici's connector with verification forced on. An IP servername is dropped (SNI may not carry
 * an IP; Node then verifies the IP against the certificate's IP SANs).
 */
export function endpointConnector(opts: EndpointPoolOptions): buildConnector.connector {
  const base = buildConnector({
    ...(opts.tls ?? {}),
    // Certificate verification is never off: a caller cannot override this.
    ...(opts.tls ? { rejectUnauthorized: true } : {}),
    timeout: opts.connectTimeoutMs,
    // HTTP/2 over TLS is negotiated by ALPN; without TLS it is prior-knowledge h2c.
    ...(opts.http2 ? (opts.tls ? { allowH2: true } : { useH2c: true }) : {}),
  } as buildConnector.BuildOptions);
  return (o, cb) => base(o.servername && isIP(o.servername) !== 0 ? { ...o, servername: undefined } : o, cb);
}
