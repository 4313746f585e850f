import type { Endpoint } from './endpoint.ts';
import type { ClusterMetrics } from './metrics.ts';

// Passive outlier detection (Envoy's consecutive_5xx / consecutive_gateway_failure):
// - a 5xx response counts toward consecutive5xx; 502/503/504 and local gateway errors (connect
//   failure, reset, timeout) also count toward consecutiveGatewayErrors; any other response resets both;
// - reaching a threshold ejects the endpoint at once for baseEjectionTime × (times ejected);
// - every `interval`: ejections that have run their time end, and an endpoint that stayed in has its
//   times-ejected multiplier lowered by one (so a host that recovered is not punished forever);
// - at most maxEjectionPercent of the endpoints are ejected at a time, but at least one may be
//   (as Envoy). When ejection leaves nothing to serve, the cluster serves from all (panic mode).

export interface OutlierConfig {
  readonly consecutive5xx: number;
  readonly consecutiveGatewayErrors: number;
  readonly interval: number;
  readonly baseEjectionTime: number;
  readonly maxEjectionPercent: number;
}

export interface OutlierHost {
  readonly endpoints: readonly Endpoint[];
  /** Recompute the serving set after an ejection state changed. */
  refresh(): void;
}

export class OutlierDetector {
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly cfg: OutlierConfig,
    private readonly host: OutlierHost,
    private readonly metrics: ClusterMetrics,
  ) {
    this.timer = setInterval(() => this.tick(), cfg.interval);
    this.timer.unref();
  }

  success(e: Endpoint): void {
    e.consecutive5xx = 0;
    e.consecutiveGatewayErrors = 0;
  }

  /** An upstream response with status >= 500. */
  serverError(e: Endpoint, status: number): void {
    e.consecutive5xx++;
    if (status === 502 || status === 503 || status === 504) e.consecutiveGatewayErrors++;
    else e.consecutiveGatewayErrors = 0;
    this.check(e);
  }

  /** A local gateway error: connect failure, reset, timeout. */
  gatewayError(e: Endpoint): void {
    e.consecutive5xx++;
    e.consecutiveGatewayErrors++;
    this.check(e);
  }

  private check(e: Endpoint): void {
    if (e.ejected) return;
    if (e.consecutiveGatewayErrors >= this.cfg.consecutiveGatewayErrors) this.eject(e, this.metrics.ejectionsGateway);
    else if (e.consecutive5xx >= this.cfg.consecutive5xx) this.eject(e, this.metrics.ejections5xx);
  }

  private eject(e: Endpoint, counter: { inc(): void }): void {
    const eps = this.host.endpoints;
    if (!eps.includes(e)) return; // an endpoint discovery already removed
    let ejected = 0;
    for (const x of eps) if (x.ejected) ejected++;
    const max = Math.max(1, Math.floor((eps.length * this.cfg.maxEjectionPercent) / 100));
    if (ejected >= max) return;
    e.ejected = true;
    e.timesEjected++;
    e.ejectedUntil = Date.now() + this.cfg.baseEjectionTime * e.timesEjected;
    e.consecutive5xx = 0;
    e.consecutiveGatewayErrors = 0;
    counter.inc();
    this.host.refresh();
  }

  tick(now = Date.now()): void {
    let changed = false;
    for (const e of this.host.endpoints) {
      if (e.ejected) {
        if (now >= e.ejectedUntil) {
          e.ejected = false;
          changed = true;
        }
      } else if (e.timesEjected > 0) {
        e.timesEjected--;
      }
    }
    if (changed) this.host.refresh();
  }

  close(): void {
    clearInterval(this.timer);
  }
}
