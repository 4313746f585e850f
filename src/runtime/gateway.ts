import { resolve } from 'node:path';
import { loadConfigFile, formatConfigError } from '../config/load.ts';
import type { GatewayConfig } from '../config/schema.ts';
import { log } from '../observability/logger.ts';
import { createAccessLog } from '../observability/access-log.ts';
import { compile, CompileError } from './compile.ts';
import type { Generation } from './generation.ts';
import { ListenerBindError, ListenerManager } from './listener-manager.ts';
import { FileWatcher } from './file-watcher.ts';
import { startAdmin, type AdminServer } from '../admin/server.ts';
import type { Exchange } from '../exchange.ts';
import { installLastResortHandlers } from './last-resort.ts';
import { OverloadMonitor } from '../overload/monitor.ts';
import { ConnectionBudget } from '../overload/connection-budget.ts';

// The running gateway: config file → validated snapshot → compiled generation → listeners, with
// reload on file change and SIGHUP (the last good generation keeps serving when a reload fails),
// and graceful drain on SIGTERM.

export interface GatewayOptions {
  configFile: string;
  /** Install SIGHUP/SIGTERM/SIGINT handlers (the CLI does; tests that embed the gateway do not). */
  handleSignals?: boolean;
}

export type ReloadResult = { ok: true; version: number } | { ok: false; errors: string[] };

export class Gateway {
  private gen: Generation | null = null;
  private version = 0;
  private readonly configFile: string;
  private readonly listeners: ListenerManager;
  private readonly watcher: FileWatcher;
  private admin: AdminServer | null = null;
  private accessLog = createAccessLog(undefined);
  private reloading: Promise<ReloadResult> | null = null;
  private reloadAgain = false;
  draining = false;
  lastReloadError: string[] | null = null;
  /** `overload` thresholds: sampled off the request path, read once per request. */
  readonly overload = new OverloadMonitor();
  /** `overload.maxConnections`, across every listener. */
  readonly connections = new ConnectionBudget();

  constructor(private readonly opts: GatewayOptions) {
    this.configFile = resolve(opts.configFile);
    this.listeners = new ListenerManager((ex: Exchange) => this.accessLog.write(ex), this.overload, this.connections);
    this.watcher = new FileWatcher(() => void this.reload('file change'));
  }

  get current(): Generation | null {
    return this.gen;
  }

  get ready(): boolean {
    return this.gen !== null && !this.draining && this.readinessHolds.size === 0;
  }

  /** Work readiness waits for (first JWKS fetches, Redis): each hold ends when it settles or after maxMs. */
  private readonly readinessHolds = new Set<object>();

  holdReadiness(what: string, until: Promise<unknown>, maxMs = READINESS_WAIT_MS): void {
    const hold = {};
    this.readinessHolds.add(hold);
    const timer = setTimeout(() => {
      if (this.readinessHolds.delete(hold)) log.warn({ what, waitedMs: maxMs }, 'not ready in time; reporting ready without it');
    }, maxMs);
    timer.unref();
    void until.then(
      () => undefined,
      () => undefined,
    ).finally(() => {
      clearTimeout(timer);
      this.readinessHolds.delete(hold);
    });
  }

  get inflight(): number {
    return this.listeners.inflight;
  }

  ports(): Record<string, number> {
    return { ...this.listeners.ports(), ...(this.admin ? { admin: this.admin.port } : {}) };
  }

  /** Loads, compiles and starts serving; throws with every config error when the first load fails. */
  async start(): Promise<void> {
    const r = await this.reload('start');
    if (!r.ok) throw new Error((r.errors as string[]).join('\n'));
    const cfg = this.gen!.config;
    this.admin = await startAdmin(cfg.admin, this);
    if (this.opts.handleSignals) this.installSignals();
    log.info({ version: this.version, ports: this.ports() }, 'gatehouse serving');
  }

  /** Re-reads the config file and every file it names; swaps in the new generation if all is valid. */
  reload(reason: string): Promise<ReloadResult> {
    if (this.reloading) {
      this.reloadAgain = true;
      return this.reloading;
    }
    this.reloading = this.doReload(reason).finally(() => {
      this.reloading = null;
      if (this.reloadAgain) {
        this.reloadAgain = false;
        void this.reload('queued change');
      }
    });
    return this.reloading;
  }

  private async doReload(reason: string): Promise<ReloadResult> {
    const loaded = await loadConfigFile(this.configFile);
    if (!loaded.ok) return this.rejected(reason, loaded.errors.map(formatConfigError));
    try {
      const { generation, retired, retiredResources, warming } = await compile(loaded.config, this.configFile, this.version + 1, this.gen ?? undefined);
      try {
        await this.listeners.apply(generation);
      } catch (err) {
        // The new generation never served: close the clusters it built (its pools, timers);
        // the ones it borrowed from the current generation stay.
        for (const c of generation.clusters.values()) if (this.gen?.clusters.get(c.name) !== c) void c.close();
        throw err;
      }
      const replaced = this.gen;
      this.gen = generation;
      generation.rateLimits.retire(replaced?.rateLimits);
      this.version = generation.version;
      this.applyProcessSettings(loaded.config);
      this.watcher.set(generation.files);
      this.lastReloadError = null;
      for (const c of retired) void c.close(); // in-flight requests finish on their old pools
      for (const r of retiredResources) r.close();
      for (const w of warming) this.holdReadiness(w.what, w.ready);
      if (reason !== 'start') log.info({ version: this.version, reason }, 'config reloaded');
      return { ok: true, version: this.version };
    } catch (err) {
      const errors =
        err instanceof CompileError
          ? err.errors.map(formatConfigError)
          : err instanceof ListenerBindError
            ? [`listeners[${loaded.config.listeners.findIndex((l) => l.name === err.listener)}].address: ${err.message}`]
            : [String((err as Error).message)];
      return this.rejected(reason, errors);
    }
  }

  private rejected(reason: string, errors: string[]): ReloadResult {
    this.lastReloadError = errors;
    // Keep watching what we watched, plus the config file, so fixing the file reloads again.
    this.watcher.set([...(this.gen?.files ?? []), this.configFile]);
    if (this.gen) log.error({ reason, errors }, 'config rejected; the last good config keeps serving');
    return { ok: false, errors };
  }

  get overloaded(): boolean {
    return this.overload.active;
  }

  private applyProcessSettings(cfg: GatewayConfig): void {
    this.overload.configure(cfg.overload);
    this.connections.max = cfg.overload?.maxConnections ?? Number.POSITIVE_INFINITY;
    const path = cfg.accessLog?.path;
    if (path !== this.accessLogPath) {
      this.accessLog.close();
      this.accessLog = createAccessLog(path);
      this.accessLogPath = path;
    }
  }
  private accessLogPath: string | undefined;

  private installSignals(): void {
    installLastResortHandlers();
    process.on('SIGHUP', () => void this.reload('SIGHUP'));
    process.once('SIGTERM', () => void this.drainAndExit('SIGTERM'));
    process.once('SIGINT', () => void this.drainAndExit('SIGINT'));
  }

  /**
   * SIGTERM: readiness turns 503 at once; listeners keep serving for drain.delay (the cloud LB takes
   * the instance out), then stop accepting, idle connections close, HTTP/2 sessions get GOAWAY, and
   * in-flight requests get until drain.timeout to finish.
   */
  async drainAndExit(signal: string): Promise<never> {
    const drain = this.gen?.config.drain ?? { delay: 0, timeout: 0 };
    // Ctrl-C in a terminal means "now": skip the LB delay, still let requests finish.
    const delay = signal === 'SIGINT' ? 0 : drain.delay;
    await this.stop(delay, drain.timeout);
    process.exit(0);
  }

  async stop(delayMs = 0, timeoutMs = 0): Promise<void> {
    this.draining = true;
    log.info({ delayMs, timeoutMs }, 'draining');
    if (delayMs > 0) await sleep(delayMs);
    await Promise.race([this.listeners.stopAccepting(), sleep(timeoutMs)]);
    const deadline = Date.now() + timeoutMs;
    while (this.listeners.inflight > 0 && Date.now() < deadline) await sleep(50);
    this.listeners.destroyAll();
    this.watcher.close();
    this.overload.stop();
    await this.admin?.close();
    if (this.gen) await Promise.all([...this.gen.clusters.values()].map((c) => c.close()));
    await this.gen?.rateLimits.close();
    this.gen?.authn.close();
    this.accessLog.close();
    log.info('stopped');
  }
}

/** How long readiness waits for a component's warm-up (a JWKS server, Redis) before going ahead without it. */
const READINESS_WAIT_MS = 10_000;

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms).unref());
}
