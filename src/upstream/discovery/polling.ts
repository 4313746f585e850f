import type { EndpointAddress } from '../cluster.ts';
import type { Discovery, DiscoveryContext, EndpointSink } from './discovery.ts';

// Shared loop of DNS-based discovery: resolve, emit, sleep (record TTL or `refresh`), repeat.
// A failed resolution keeps the last good endpoints (nothing is emitted), counts a failure and
// retries sooner. Timers are unref'd (they never hold the process open) and stop on close.

export interface Resolution {
  readonly addresses: EndpointAddress[];
  /** Milliseconds until the next refresh (the smallest TTL, bounded by `refresh`). */
  readonly nextMs: number;
}

const RETRY_MS = 2_000;

export abstract class PollingDiscovery implements Discovery {
  private timer: NodeJS.Timeout | null = null;
  private closed = false;
  private last = '';
  private failures = 0;

  constructor(
    protected readonly ctx: DiscoveryContext,
    protected readonly refreshMs: number,
  ) {}

  protected abstract resolve(): Promise<Resolution>;

  async start(sink: EndpointSink): Promise<void> {
    await this.run(sink);
  }

  private async run(sink: EndpointSink): Promise<void> {
    let next = Math.min(this.refreshMs, RETRY_MS);
    try {
      const r = await this.resolve();
      if (this.closed) return;
      // Emit only on change: an unchanged answer must not rebuild balancer tables.
      const key = JSON.stringify(r.addresses);
      if (key !== this.last) {
        this.last = key;
        sink(r.addresses);
      }
      next = r.nextMs;
      this.failures = 0;
    } catch (err) {
      if (this.closed) return;
      this.ctx.onFailure(err, ++this.failures);
    }
    this.timer = setTimeout(() => void this.run(sink), Math.max(100, next));
    this.timer.unref();
  }

  close(): void {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }
}

/** Next refresh: the smallest positive TTL when it is shorter than `refresh`, else `refresh`. */
export function ttlDelay(ttls: readonly (number | undefined)[], refreshMs: number): number {
  let min = refreshMs;
  for (const t of ttls) if (t !== undefined && t > 0) min = Math.min(min, t * 1000);
  return min;
}
