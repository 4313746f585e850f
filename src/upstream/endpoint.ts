import { Pool } from 'undici';
import type { ConnectionOptions } from 'node:tls';

// One upstream address with its keep-alive connection pool and its live state.
// Balancers read `weight`, `active` and `available`; health checks and outlier detection write
// `healthy` and `ejected`.

export interface EndpointPoolOptions {
  readonly tls: ConnectionOptions | null; // null: plain HTTP
  readonly connectTimeoutMs: number;
  readonly maxConnections: number | null; // per endpoint; null: unlimited
  readonly http2: boolean;
}

export class Endpoint {
  readonly address: string; // "host:port" as configured or discovered
  readonly host: string;
  readonly port: number;
  weight: number;
  /** Requests in flight (least_request reads it). */
  active = 0;
  healthy = true;
  ejected = false;
  readonly pool: Pool;

  constructor(host: string, port: number, weight: number, opts: EndpointPoolOptions) {
    this.host = host;
    this.port = port;
    this.weight = weight;
    this.address = host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
    const origin = `${opts.tls ? 'https' : 'http'}://${this.address}`;
    this.pool = new Pool(origin, {
      connections: opts.maxConnections,
      pipelining: 1,
      allowH2: opts.http2,
      keepAliveTimeout: 30_000,
      keepAliveMaxTimeout: 600_000,
      connect: {
        ...(opts.tls ?? {}),
        // Certificate verification is never off: a caller cannot override this.
        ...(opts.tls ? { rejectUnauthorized: true } : {}),
        timeout: opts.connectTimeoutMs,
      },
    });
  }

  get available(): boolean {
    return this.healthy && !this.ejected;
  }

  /** Lets in-flight requests finish, then closes the connections. */
  close(): Promise<void> {
    return this.pool.close().catch(() => undefined);
  }
}
