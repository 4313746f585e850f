import type { Generation, CompiledListener } from './generation.ts';
import { createRequestHandler, createUpgradeHandler, type ExchangeObserver, type ListenerSlot } from '../proxy/handler.ts';
import { createHttpsListener, type HttpsListener } from '../listener/https-listener.ts';
import { createRedirectListener, type RedirectListener } from '../listener/redirect-listener.ts';
import type { OverloadSignal } from '../overload/monitor.ts';
import type { ConnectionBudget } from '../overload/connection-budget.ts';
import { H1, H2, ListenerStats } from '../observability/request-stats.ts';

// Keeps the running listeners in step with the current generation: a listener whose address and
// kind are unchanged is kept (its connections live on) and just pointed at the new generation;
// others are opened or closed.

/** A listener of a new generation could not listen on its address (port taken, no permission…). */
export class ListenerBindError extends Error {
  constructor(
    readonly listener: string,
    readonly address: string,
    cause: NodeJS.ErrnoException,
  ) {
    super(`cannot listen on ${address}: ${cause.code ?? cause.message}`);
  }
}

type Running = { slot: ListenerSlot; server: HttpsListener | RedirectListener; key: string; stats: ListenerStats | null };

function listenerKey(l: CompiledListener): string {
  return `${l.host}|${l.port}|${l.sni ? 'tls' : 'plain'}|${l.http2}`;
}

export class ListenerManager {
  private readonly running = new Map<string, Running>();
  /** Requests being served right now, across listeners (drain waits for it to reach 0). */
  inflight = 0;

  constructor(
    private readonly onDone: ExchangeObserver,
    /** Process-wide overload state, read once per request. */
    private readonly overload: OverloadSignal,
    /** Process-wide connection cap shared by every listener. */
    private readonly budget: ConnectionBudget,
  ) {}

  async apply(gen: Generation): Promise<void> {
    const opened: Running[] = [];
    try {
      for (const l of gen.listeners.values()) {
        const key = listenerKey(l);
        const existing = this.running.get(l.name);
        if (existing && existing.key === key) continue;
        try {
          opened.push(await this.open(gen, l, key));
        } catch (err) {
          throw new ListenerBindError(l.name, `${l.host}:${l.port}`, err as NodeJS.ErrnoException);
        }
      }
    } catch (err) {
      // a port could not be bound: undo this apply so the previous generation stays whole
      for (const r of opened) void r.server.stopAccepting();
      throw err;
    }
    for (const r of opened) {
      const name = r.slot.current.listener.name;
      const old = this.running.get(name);
      if (old) void old.server.stopAccepting();
      this.running.set(name, r);
    }
    for (const [name, r] of this.running) {
      const l = gen.listeners.get(name);
      if (!l) {
        void r.server.stopAccepting();
        this.running.delete(name);
        continue;
      }
      r.slot.current = { gen, listener: l };
      r.server.apply(l);
    }
  }

  private async open(gen: Generation, l: CompiledListener, key: string): Promise<Running> {
    const slot: ListenerSlot = { current: { gen, listener: l } };
    if (!l.sni) return { slot, key, server: await createRedirectListener(l, slot, this.budget), stats: null };
    // Kept by the running listener: a reload that keeps the listener keeps its counters.
    const stats = new ListenerStats(l.name);
    const active = stats.activeRequests;
    const done: ExchangeObserver = (ex) => {
      this.inflight--;
      active[ex.req.httpVersionMajor === 2 ? H2 : H1]--;
      this.onDone(ex);
    };
    const handle = createRequestHandler(slot, done, this.overload);
    const upgrade = createUpgradeHandler(slot, done, this.overload);
    const server = await createHttpsListener(
      l,
      slot,
      (req, res) => {
        this.inflight++;
        const p = req.httpVersionMajor === 2 ? H2 : H1;
        active[p]++;
        stats.requests[p]++;
        handle(req, res);
      },
      (req, socket, head) => {
        this.inflight++;
        active[H1]++;
        stats.requests[H1]++;
        upgrade(req, socket, head);
      },
      stats,
      this.budget,
    );
    return { slot, key, server, stats };
  }

  /** The counters of the running TLS listeners. */
  *stats(): Iterable<ListenerStats> {
    for (const r of this.running.values()) if (r.stats !== null) yield r.stats;
  }

  /** Bound ports by listener name (useful when a config asks for port 0). */
  ports(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const [name, r] of this.running) out[name] = r.server.port;
    return out;
  }

  /** Drain, first phase: keep serving and accepting; HTTP/1.1 responses close their connection. */
  beginDrain(): void {
    for (const r of this.running.values()) r.server.beginDrain();
  }

  async stopAccepting(): Promise<void> {
    await Promise.all([...this.running.values()].map((r) => r.server.stopAccepting()));
  }

  destroyAll(): void {
    for (const r of this.running.values()) r.server.destroyAll();
  }
}
