import { Client, type buildConnector } from 'undici';
import type { Endpoint } from '../upstream/endpoint.ts';
import type { ClusterPart } from '../upstream/cluster.ts';
import { httpProbe } from './active-check-http.ts';
import { grpcProbe } from './active-check-grpc.ts';

// Active health checks of one cluster: every `interval`, each endpoint is probed (HTTP GET `path`
// expecting 2xx, or grpc.health.v1 Check expecting SERVING) over its own keep-alive connection, made
// by the endpoint's connector (same TLS, client certificate and SAN check as traffic) but outside
// its pool, so circuit breaker limits and queued traffic never delay a probe.
// `unhealthyThreshold` failures in a row take an endpoint out of rotation, `healthyThreshold`
// successes bring it back. New endpoints start healthy and are probed at once.
// The timer is unref'd; close() (the cluster retired) stops it and closes the probe connections.

export interface ActiveHealthCheckConfig {
  readonly path?: string;
  readonly grpc?: { readonly service: string };
  readonly interval: number;
  readonly timeout: number;
  readonly unhealthyThreshold: number;
  readonly healthyThreshold: number;
}

export interface HealthHost {
  /** Recompute the serving set after a health state changed. */
  refresh(): void;
  readonly metrics: { readonly healthCheckFailures: { inc(): void } };
}

export type Probe = (client: Client, endpoint: Endpoint, timeoutMs: number) => Promise<boolean>;

interface ProbeState {
  client: Client;
  successes: number;
  failures: number;
  running: boolean;
}

export class ActiveHealthChecker implements ClusterPart {
  private readonly states = new Map<Endpoint, ProbeState>();
  private readonly timer: NodeJS.Timeout;
  /** The first probe of new endpoints: on the next turn, so a compile that is thrown away (validate, a failed reload) probes nothing. */
  private soon: NodeJS.Timeout | null = null;
  private readonly probe: Probe;
  private closed = false;

  constructor(
    private readonly cfg: ActiveHealthCheckConfig,
    private readonly host: HealthHost,
    /** gRPC probes need HTTP/2: a connector like the endpoints' but offering h2 (or h2c). */
    private readonly connect?: buildConnector.connector,
  ) {
    this.probe = cfg.grpc ? grpcProbe(cfg.grpc.service) : httpProbe(cfg.path ?? '/');
    this.timer = setInterval(() => this.round(), cfg.interval);
    this.timer.unref();
  }

  endpointsChanged(endpoints: readonly Endpoint[]): void {
    const keep = new Set(endpoints);
    for (const [e, s] of this.states) {
      if (!keep.has(e)) {
        this.states.delete(e);
        void s.client.close().catch(() => undefined);
      }
    }
    for (const e of endpoints) {
      if (this.states.has(e)) continue;
      const client = new Client(e.origin, {
        connect: this.connect ?? e.connect,
        pipelining: 1,
        allowH2: this.cfg.grpc !== undefined,
        keepAliveTimeout: 60_000,
      });
      this.states.set(e, { client, successes: 0, failures: 0, running: false });
      this.soon ??= setTimeout(() => {
        this.soon = null;
        this.round();
      }, 0).unref();
    }
  }

  private round(): void {
    for (const [e, s] of this.states) if (!s.running) void this.check(e, s);
  }

  private async check(e: Endpoint, s: ProbeState): Promise<void> {
    s.running = true;
    let ok = false;
    try {
      ok = await this.probe(s.client, e, this.cfg.timeout);
    } catch {
      ok = false;
    }
    s.running = false;
    if (this.closed || this.states.get(e) !== s) return;
    if (ok) {
      s.failures = 0;
      s.successes++;
      if (!e.healthy && s.successes >= this.cfg.healthyThreshold) {
        e.healthy = true;
        this.host.refresh();
      }
    } else {
      this.host.metrics.healthCheckFailures.inc();
      s.successes = 0;
      s.failures++;
      if (e.healthy && s.failures >= this.cfg.unhealthyThreshold) {
        e.healthy = false;
        this.host.refresh();
      }
    }
  }

  close(): void {
    this.closed = true;
    clearInterval(this.timer);
    if (this.soon) clearTimeout(this.soon);
    for (const s of this.states.values()) void s.client.close().catch(() => undefined);
    this.states.clear();
  }
}
