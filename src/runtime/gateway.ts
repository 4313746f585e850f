import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { loadConfigFile, formatConfigError } from '../config/load.ts';
import { loadConfigFileOffThread } from '../config/load-off-thread.ts';
import type { GatewayConfig } from '../config/schema.ts';
import { mergeXds, YAML_ONLY, type ConfigOrigins, type XdsFragments } from '../config/merge.ts';
import type { XdsClient, XdsClientSettings, XdsSnapshot, XdsStatus } from '../xds/client.ts';
import { EndpointStore } from '../xds/endpoint-store.ts';
import { log } from '../observability/logger.ts';
import { createAccessLog } from '../observability/access-log.ts';
import { finishExchange } from '../observability/finish.ts';
import { reloadRejected, reloadSucceeded } from '../observability/metrics.ts';
import { statsSources, type CertificateExpiry, type ClusterStats, type ListenerStats, type RouteStats, type StatsSource } from '../observability/request-stats.ts';
import { compile, CompileError } from './compile.ts';
import type { Generation } from './generation.ts';
import { ListenerBindError, ListenerManager } from './listener-manager.ts';
import { FileWatcher } from './file-watcher.ts';
import { buildAdmin, startAdmin, type AdminServer } from '../admin/server.ts';
import type { Exchange } from '../exchange.ts';
import { installLastResortHandlers } from './last-resort.ts';
import { HealthFeed } from '../health/health-feed.ts';
import { HealthStatuses } from '../health/health-statuses.ts';
import type { GrpcHealthServer } from '../health/grpc-health.ts';
import type { FastifyInstance } from 'fastify';
import { OverloadMonitor } from '../overload/monitor.ts';
import { ConnectionBudget } from '../overload/connection-budget.ts';
import { retireClusterMetrics } from '../upstream/metrics.ts';
import { forgetRetries } from '../proxy/retry-policy.ts';

// The running gateway: config file (+ what the xDS client delivered) → validated snapshot → compiled
// generation → listeners, with reload on file change and SIGHUP and a rebuild on every xDS snapshot
// (the last good generation keeps serving when either fails), readiness and gRPC health, and graceful
// drain on SIGTERM (see docs/lifecycle.md for the timeline).
// Reloads and xDS rebuilds run one at a time; xDS snapshots that arrive meanwhile are coalesced
// (only the latest is applied).

export interface GatewayOptions {
  configFile: string;
  /** Install SIGHUP/SIGTERM/SIGINT handlers (the CLI does; tests that embed the gateway do not). */
  handleSignals?: boolean;
  /**
   * A `--workers` worker: the primary listens on the admin and gRPC health addresses for the whole
   * group, so this process opens neither; it answers admin requests the primary hands it
   * (`adminApp`) and reports its health through `health` (runtime/workers/worker.ts does both).
   */
  worker?: boolean;
}

export type ReloadResult = { ok: true; version: number } | { ok: false; errors: string[] };

export class Gateway implements StatsSource {
  private gen: Generation | null = null;
  private version = 0;
  private readonly configFile: string;
  private readonly listeners: ListenerManager;
  private readonly watcher: FileWatcher;
  private admin: AdminServer | null = null;
  private adminInProcess: FastifyInstance | null = null;
  private grpcHealth: GrpcHealthServer | null = null;
  private accessLog = createAccessLog(undefined);
  private reloading: Promise<ReloadResult> | null = null;
  /** The rebuild that follows the running one, with everyone waiting for it. */
  private queued: { reason: string; promise: Promise<ReloadResult>; resolve: (r: ReloadResult) => void } | null = null;
  /** The config file must be read again (a change, SIGHUP, or the first start). */
  private fileChanged = true;
  /** The YAML config of the serving generation. */
  private yaml: GatewayConfig | null = null;
  /** What xDS contributes to the serving generation, and the newest snapshot waiting to be applied. */
  private xdsServing: XdsSnapshot | null = null;
  private xdsPending: XdsSnapshot | null = null;
  private xds: XdsClient | null = null;
  /** Settles when a generation with every RouteConfiguration of `xds.routeConfigs` serves (readiness waits for it). */
  private xdsRoutesServing: { promise: Promise<void>; resolve: () => void } | null = null;
  /** EDS endpoints by resource name: clusters read them directly (no recompile on an EDS update). */
  readonly endpoints = new EndpointStore();
  private readonly mergeNotes = new Set<string>();
  private drainingSince: number | null = null;
  private stopping: Promise<void> | null = null;
  /** The grpc.health.v1 statuses this process reports ("" and cluster:<name>). */
  readonly health = new HealthFeed();
  private healthRecheck: NodeJS.Timeout | null = null;
  lastReloadError: string[] | null = null;
  /** `overload` thresholds: sampled off the request path, read once per request. */
  readonly overload = new OverloadMonitor();
  /** `overload.maxConnections`, across every listener. */
  readonly connections = new ConnectionBudget();
  /** Why the last xDS snapshot could not be applied (null when it was). */
  lastXdsError: string[] | null = null;

  constructor(private readonly opts: GatewayOptions) {
    this.configFile = resolve(opts.configFile);
    this.listeners = new ListenerManager((ex: Exchange) => finishExchange(ex, this.accessLog), this.overload, this.connections);
    this.watcher = new FileWatcher(() => void this.reload('file change'));
  }

  get current(): Generation | null {
    return this.gen;
  }

  get ready(): boolean {
    return this.gen !== null && !this.draining && this.readinessHolds.size === 0;
  }

  get draining(): boolean {
    return this.drainingSince !== null;
  }

  /** Tells the health feed readiness may have changed (it ignores calls that change nothing). */
  private healthChanged(): void {
    this.health.setState(this.ready, this.draining);
  }

  /** Work readiness waits for (first JWKS fetches, Redis): each hold ends when it settles or after maxMs. */
  private readonly readinessHolds = new Set<object>();

  holdReadiness(what: string, until: Promise<unknown>, maxMs = READINESS_WAIT_MS): void {
    const hold = {};
    this.readinessHolds.add(hold);
    const timer = setTimeout(() => {
      if (this.readinessHolds.delete(hold)) log.warn({ what, waitedMs: maxMs }, 'not ready in time; reporting ready without it');
      this.healthChanged();
    }, maxMs);
    timer.unref();
    void until.then(
      () => undefined,
      () => undefined,
    ).finally(() => {
      clearTimeout(timer);
      this.readinessHolds.delete(hold);
      this.healthChanged();
    });
  }

  get inflight(): number {
    return this.listeners.inflight;
  }

  ports(): Record<string, number> {
    return {
      ...this.listeners.ports(),
      ...(this.admin ? { admin: this.admin.port } : {}),
      ...(this.grpcHealth ? { grpcHealth: this.grpcHealth.port } : {}),
    };
  }

  /** Under --workers: the admin API, not listening, for the requests the primary hands this worker. */
  get adminApp(): FastifyInstance | null {
    return this.adminInProcess;
  }

  // ── StatsSource: what /metrics and /stats read of the running generation ──
  *routes(): Iterable<RouteStats> {
    for (const vh of this.gen?.hosts.virtualHosts() ?? []) for (const r of vh.routes) yield r.stats;
  }
  *clusters(): Iterable<{ readonly name: string; readonly stats: ClusterStats }> {
    yield* this.gen?.clusters.values() ?? [];
  }
  listenerStats(): Iterable<ListenerStats> {
    return this.listeners.stats();
  }
  certificates(): Iterable<CertificateExpiry> {
    return this.gen?.certificates ?? [];
  }
  configVersion(): number {
    return this.version;
  }
  lastReloadOk(): boolean {
    return this.lastReloadError === null;
  }

  /**
   * Loads, compiles and starts serving; throws with every config error when the first load fails.
   * The admin and gRPC health addresses are taken from the first config (a change needs a restart).
   */
  async start(): Promise<void> {
    statsSources.add(this);
    const r = await this.reload('start');
    if (!r.ok) statsSources.delete(this);
    if (!r.ok) throw new Error((r.errors as string[]).join('\n'));
    const cfg = this.gen!.config;
    if (this.opts.worker) {
      this.adminInProcess = buildAdmin(this, cfg.admin.token);
    } else {
      this.admin = await startAdmin(cfg.admin, this);
      if (cfg.grpcHealth) {
        const statuses = new HealthStatuses();
        this.health.subscribe((s) => statuses.replace(s));
        // Loaded only when configured: grpc-health-check parses its proto when imported.
        const { startGrpcHealth } = await import('../health/grpc-health.ts');
        this.grpcHealth = await startGrpcHealth(cfg.grpcHealth.address, statuses);
      }
    }
    // Every readiness input calls healthChanged(); this re-read is a cheap net under any that forgets.
    this.healthRecheck = setInterval(() => this.healthChanged(), HEALTH_RECHECK_MS).unref();
    if (this.opts.handleSignals) this.installSignals();
    log.info({ version: this.version, ports: this.ports() }, 'gatehouse serving');
  }

  /** SIGHUP: reopen the access-log file (log rotation) and re-read the config. */
  hangup(reason = 'SIGHUP'): Promise<ReloadResult> {
    this.reopenLogs();
    return this.reload(reason);
  }

  /** Re-reads the config file and every file it names; swaps in the new generation if all is valid. */
  reload(reason: string): Promise<ReloadResult> {
    this.fileChanged = true;
    return this.schedule(reason);
  }

  /** The xDS client has a new snapshot: rebuild with the current YAML (coalesced while one runs). */
  private xdsUpdated(snapshot: XdsSnapshot): void {
    this.xdsPending = snapshot;
    void this.schedule('xds update');
  }

  private schedule(reason: string): Promise<ReloadResult> {
    if (this.reloading) {
      // A change arrived while a rebuild runs: one more rebuild follows, and every caller waiting
      // for it gets its result (not the result of the rebuild that started before the change).
      if (this.queued === null) {
        let resolve!: (r: ReloadResult) => void;
        const promise = new Promise<ReloadResult>((r) => (resolve = r));
        this.queued = { reason, promise, resolve };
      }
      return this.queued.promise;
    }
    this.reloading = this.doReload(reason).finally(() => {
      this.reloading = null;
      const queued = this.queued;
      this.queued = null;
      const again = queued?.reason ?? (this.xdsPending ? 'xds update' : null);
      if (again === null) return;
      const next = this.schedule(again);
      if (queued !== null) void next.then(queued.resolve);
    });
    return this.reloading;
  }

  private async doReload(reason: string): Promise<ReloadResult> {
    const fromFile = this.fileChanged || this.yaml === null;
    this.fileChanged = false;
    let yaml = this.yaml!;
    if (fromFile) {
      await this.watcher.readingNow();
      // The first load runs here (nothing is served yet); a reload parses in a worker thread.
      const loaded = this.yaml === null ? await loadConfigFile(this.configFile) : await loadConfigFileOffThread(this.configFile);
      if (!loaded.ok) return this.rejected(reason, loaded.errors.map(formatConfigError));
      yaml = loaded.config;
    }
    const snapshot = this.xdsPending ?? this.xdsServing;
    this.xdsPending = null;
    const fragments: XdsFragments | null = snapshot?.fragments ?? null;
    const xdsOnly = !fromFile;
    let config = yaml;
    let origins: ConfigOrigins = YAML_ONLY;
    if (yaml.xds && fragments) {
      const merged = mergeXds(yaml, fragments);
      for (const note of merged.notes) {
        if (!this.mergeNotes.has(note)) log.warn({ note }, 'xDS merged with the YAML config');
      }
      this.mergeNotes.clear();
      for (const note of merged.notes) this.mergeNotes.add(note);
      config = merged.config;
      origins = merged.origins;
    }
    try {
      const compiled = await compile(config, this.configFile, this.version + 1, this.gen ?? undefined, {
        origins,
        endpoints: this.endpoints,
      });
      const { generation, retired, retiredResources, warming } = compiled;
      try {
        await this.listeners.apply(generation);
      } catch (err) {
        // The new generation never served: close what it built (pools, timers, Redis connections,
        // JWKS key sets); what it borrowed from the current generation stays.
        compiled.discard();
        throw err;
      }
      const replaced = this.gen;
      for (const c of generation.clusters.values()) c.hold();
      this.gen = generation;
      // exchanges that started on the replaced generation keep its clusters' pools until they end
      replaced?.usage.retire(() => {
        for (const c of replaced.clusters.values()) c.release();
      });
      this.health.setClusters(generation.clusters.values());
      this.healthChanged();
      generation.rateLimits.retire(replaced?.rateLimits);
      this.version = generation.version;
      this.yaml = yaml;
      this.xdsServing = yaml.xds ? snapshot : null;
      if (yaml.xds && snapshot?.complete) this.xdsRoutesServing?.resolve();
      this.applyProcessSettings(yaml);
      this.watcher.set(generation.files);
      if (xdsOnly) this.lastXdsError = null;
      else this.lastReloadError = null;
      for (const c of retired) c.retire(); // timers stop now; pools close when the old generation drains
      // Cluster names that left the config take their per-cluster series with them.
      for (const c of retired) {
        if (generation.clusters.has(c.name)) continue;
        retireClusterMetrics(c.name);
        forgetRetries(c.name);
      }
      for (const r of retiredResources) r.close();
      for (const w of warming) this.holdReadiness(w.what, w.ready);
      if (fromFile) await this.syncXdsClient(yaml);
      if (reason !== 'start') log.info({ version: this.version, reason }, 'config reloaded');
      if (fromFile) reloadSucceeded.inc(); // gatehouse_config_reloads_total counts file reloads; xDS has its own
      return { ok: true, version: this.version };
    } catch (err) {
      const errors =
        err instanceof CompileError
          ? err.errors.map(formatConfigError)
          : err instanceof ListenerBindError
            ? [`listeners[${config.listeners.findIndex((l) => l.name === err.listener)}].address: ${err.message}`]
            : [String((err as Error).message)];
      return this.rejected(reason, errors, xdsOnly);
    }
  }

  private rejected(reason: string, errors: string[], xdsOnly = false): ReloadResult {
    if (xdsOnly) {
      // The xDS resources were valid one by one but the whole does not compile: keep serving.
      this.lastXdsError = errors;
      log.error({ errors }, 'xDS update could not be applied; the last good config keeps serving');
      return { ok: false, errors };
    }
    this.lastReloadError = errors;
    reloadRejected.inc();
    // Keep watching what we watched, plus the config file, so fixing the file reloads again.
    this.watcher.set([...(this.gen?.files ?? []), this.configFile]);
    if (this.gen) log.error({ reason, errors }, 'config rejected; the last good config keeps serving');
    return { ok: false, errors };
  }

  /** Starts, updates or stops the xDS client after the YAML config changed. */
  private async syncXdsClient(yaml: GatewayConfig): Promise<void> {
    if (!yaml.xds) {
      this.xds?.close();
      this.xds = null;
      this.endpoints.clear();
      this.xdsRoutesServing?.resolve();
      this.xdsRoutesServing = null;
      return;
    }
    const settings = await xdsSettings(yaml);
    if (this.xds) {
      this.xds.update(settings);
      return;
    }
    // The xDS client (gRPC, Envoy's protos) is loaded only when `xds` is configured.
    const { XdsClient } = await import('../xds/client.ts');
    const client = new XdsClient(settings, this.endpoints, (snapshot) => this.xdsUpdated(snapshot));
    this.xds = client;
    let resolve!: () => void;
    this.xdsRoutesServing = { promise: new Promise<void>((r) => (resolve = r)), resolve };
    client.start();
    // SPEC: not ready until the first xDS routes serve, or initialFetchTimeout passed (then ready
    // with what it has, and a warning).
    this.holdReadiness(`xDS routes ${yaml.xds.routeConfigs.join(', ')} from ${yaml.xds.server}`, this.xdsRoutesServing.promise, yaml.xds.initialFetchTimeout);
  }

  /** The xDS client's state for the admin API, or null without xDS. */
  get xdsStatus(): XdsStatus | null {
    return this.xds ? { ...this.xds.status(), ...(this.lastXdsError ? { lastApplyError: this.lastXdsError } : {}) } : null;
  }

  get overloaded(): boolean {
    return this.overload.active;
  }

  private applyProcessSettings(cfg: GatewayConfig): void {
    this.overload.configure(cfg.overload);
    this.connections.max = cfg.overload?.maxConnections ?? Number.POSITIVE_INFINITY;
    const key = JSON.stringify(cfg.accessLog);
    if (key !== this.accessLogKey) {
      this.openAccessLog(cfg.accessLog);
      this.accessLogKey = key;
    }
  }
  private accessLogKey: string | undefined;

  /**
   * Opens the access-log file again at its path (SIGHUP, as log rotation expects: logrotate moves the
   * file, then signals). What the old writer still holds is written to the moved file before it is
   * closed; lines from now on go to a new file at the configured path.
   */
  private reopenLogs(): void {
    const cfg = this.gen?.config.accessLog;
    if (cfg === undefined) return;
    this.openAccessLog(cfg);
    log.info({ accessLog: cfg.path }, 'access log reopened');
  }

  /** A new access log from `cfg`; the old one writes what it holds, then closes. */
  private openAccessLog(cfg: GatewayConfig['accessLog']): void {
    const old = this.accessLog;
    this.accessLog = createAccessLog(cfg);
    old.close();
  }

  private installSignals(): void {
    installLastResortHandlers();
    process.on('SIGHUP', () => void this.hangup());
    const onStop = (signal: NodeJS.Signals) => {
      if (this.draining) {
        // The second signal: whoever sent it does not want to wait for the drain.
        log.warn({ signal }, 'second stop signal while draining: exiting now');
        process.exit(EXIT_INTERRUPTED);
      }
      void this.drainAndExit(signal);
    };
    process.on('SIGTERM', onStop);
    process.on('SIGINT', onStop);
  }

  /**
   * SIGTERM: readiness turns 503 and gRPC health NOT_SERVING at once; listeners keep serving (and
   * accepting) for drain.delay so the cloud LB takes the instance out, then stop accepting; in-flight
   * requests and WebSockets get until drain.timeout; exit 0. Calling it again joins the drain under way.
   */
  async drainAndExit(signal: string): Promise<never> {
    const drain = this.gen?.config.drain ?? { delay: 0, timeout: 0 };
    // Ctrl-C in a terminal means "now": skip the LB delay, still let requests finish.
    const delay = signal === 'SIGINT' ? 0 : drain.delay;
    await this.stop(delay, drain.timeout);
    process.exit(0);
  }

  /** The drain (see drainAndExit) and then every resource closed; a second call joins the first. */
  stop(delayMs = 0, timeoutMs = 0): Promise<void> {
    this.stopping ??= this.drain(delayMs, timeoutMs);
    return this.stopping;
  }

  private async drain(delayMs: number, timeoutMs: number): Promise<void> {
    this.drainingSince = Date.now();
    this.healthChanged();
    log.info({ delayMs, timeoutMs }, 'draining: not ready; serving on until the delay is over');
    // Keep-alive HTTP/1.1 clients are told to reconnect as their next response goes out.
    this.listeners.beginDrain();
    if (delayMs > 0) await sleep(delayMs);
    const deadline = Date.now() + timeoutMs;
    log.info({ inflight: this.listeners.inflight }, 'draining: listeners stop accepting');
    await Promise.race([this.listeners.stopAccepting(), sleep(timeoutMs)]);
    while (this.listeners.inflight > 0 && Date.now() < deadline) await sleep(50);
    if (this.listeners.inflight > 0) log.warn({ inflight: this.listeners.inflight }, 'drain timeout: cutting what is still open');
    this.listeners.destroyAll();
    this.watcher.close();
    if (this.healthRecheck) clearInterval(this.healthRecheck);
    this.overload.stop();
    this.xds?.close();
    this.xds = null;
    await this.admin?.close();
    await this.grpcHealth?.close();
    this.health.close();
    if (this.gen) await Promise.all([...this.gen.clusters.values()].map((c) => c.close()));
    await this.gen?.rateLimits.close();
    this.gen?.authn.close();
    this.gen?.extAuthz.close();
    this.gen?.tracing?.close();
    this.accessLog.close();
    statsSources.delete(this);
    log.info('stopped');
  }
}

/** The xDS client's settings from the YAML config (TLS files read now: a rotation reloads the config). */
async function xdsSettings(cfg: GatewayConfig): Promise<XdsClientSettings> {
  const x = cfg.xds!;
  const read = (f: string | undefined) => (f ? readFile(f) : Promise.resolve(undefined));
  const [ca, cert, key] = x.tls ? await Promise.all([read(x.tls.caFile), read(x.tls.certFile), read(x.tls.keyFile)]) : [];
  return {
    target: {
      server: x.server,
      tls: x.tls ? { ...(ca ? { ca } : {}), ...(cert ? { cert } : {}), ...(key ? { key } : {}), ...(x.tls.serverName ? { serverName: x.tls.serverName } : {}) } : null,
    },
    node: x.node,
    routeConfigs: x.routeConfigs,
    initialFetchTimeoutMs: x.initialFetchTimeout,
    localClusters: new Set(cfg.clusters.map((c) => c.name)),
    localEds: new Set(cfg.clusters.flatMap((c) => (c.discovery.type === 'eds' ? [c.discovery.serviceName ?? c.name] : []))),
  };
}

/** How long readiness waits for a component's warm-up (a JWKS server, Redis) before going ahead without it. */
const READINESS_WAIT_MS = 10_000;

/** How often readiness is re-read for the health feed, besides every change it is told of. */
const HEALTH_RECHECK_MS = 1000;

/** Exit code when a second stop signal cuts a drain short. */
export const EXIT_INTERRUPTED = 1;

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms).unref());
}
