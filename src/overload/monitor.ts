import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';
import { Gauge } from 'prom-client';
import type { OverloadConfig } from '../config/schema.ts';
import { registry } from '../observability/metrics.ts';
import { log } from '../observability/logger.ts';

// Overload protection (SPEC `overload`): a sampler measures the event-loop delay (node's
// perf_hooks.monitorEventLoopDelay histogram, read the way @fastify/under-pressure reads it: the mean
// over the last interval, less the histogram's resolution) and the V8 heap in use, every
// SAMPLE_INTERVAL_MS. Above either threshold `active` turns true and the request path answers new
// requests 503 `overloaded` with Retry-After; the next sample under both turns it false again.
// The request path reads one boolean; nothing is measured per request.

export const SAMPLE_INTERVAL_MS = 500;
const RESOLUTION_MS = 10;

const overloadGauge = new Gauge({
  name: 'gatehouse_overloaded',
  help: '1 while the overload thresholds are crossed (new requests get 503 overloaded), else 0',
  registers: [registry],
});
const loopDelayGauge = new Gauge({
  name: 'gatehouse_event_loop_delay_seconds',
  help: 'Mean event-loop delay over the last overload sample interval (only while overload is configured)',
  registers: [registry],
});

/** What the request path reads: one boolean. */
export interface OverloadSignal {
  readonly active: boolean;
}

export class OverloadMonitor implements OverloadSignal {
  active = false;
  /** The last sample, for the admin API and logs. */
  eventLoopDelayMs = 0;
  heapUsedBytes = 0;
  private maxDelayMs = Number.POSITIVE_INFINITY;
  private maxHeap = Number.POSITIVE_INFINITY;
  private histogram: IntervalHistogram | null = null;
  private timer: NodeJS.Timeout | null = null;

  /** Applies a config's `overload` section (undefined: off). Safe to call on every reload. */
  configure(cfg: OverloadConfig | undefined): void {
    this.maxDelayMs = cfg?.maxEventLoopDelay ?? Number.POSITIVE_INFINITY;
    this.maxHeap = cfg?.maxHeapUsedBytes ?? Number.POSITIVE_INFINITY;
    const wanted = Number.isFinite(this.maxDelayMs) || Number.isFinite(this.maxHeap);
    if (!wanted) {
      this.stop();
      return;
    }
    if (this.timer === null) {
      this.histogram = monitorEventLoopDelay({ resolution: RESOLUTION_MS });
      this.histogram.enable();
      this.timer = setInterval(() => this.sample(), SAMPLE_INTERVAL_MS);
      this.timer.unref();
    }
    this.sample(); // a new threshold applies now, not one interval later
  }

  stop(): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
    this.histogram?.disable();
    this.histogram = null;
    this.set(false);
  }

  private sample(): void {
    const h = this.histogram;
    // an empty histogram (no tick yet) has a NaN mean
    this.eventLoopDelayMs = h !== null && h.count > 0 ? Math.max(0, h.mean / 1e6 - RESOLUTION_MS) : 0;
    h?.reset();
    this.heapUsedBytes = process.memoryUsage().heapUsed;
    loopDelayGauge.set(this.eventLoopDelayMs / 1000);
    this.set(this.eventLoopDelayMs > this.maxDelayMs || this.heapUsedBytes > this.maxHeap);
  }

  private set(active: boolean): void {
    if (active === this.active) return;
    this.active = active;
    overloadGauge.set(active ? 1 : 0);
    const detail = { eventLoopDelayMs: Math.round(this.eventLoopDelayMs), heapUsedBytes: this.heapUsedBytes };
    if (active) log.warn(detail, 'overloaded: new requests get 503 until back under the thresholds');
    else log.info(detail, 'no longer overloaded');
  }
}
