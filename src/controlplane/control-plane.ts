/**
 * The control plane process: store (etcd or file) → compile (pure) → snapshot → ADS server, plus
 * the registry's REST API and pages. It holds no state of its own beyond the last compiled snapshot:
 * several replicas against one etcd compile the same revision into the same resources.
 *
 * Every store change schedules one compile a few milliseconds later (a burst of etcd events — a
 * transaction, many leases lapsing at once — becomes one snapshot), then pushes it to every
 * subscriber: well within the SPEC's second.
 */
import type { ControlPlaneConfig } from './config.ts';
import type { Logger } from './log.ts';
import { compileRegistry, type CompileOptions, type CompileResult } from './compile.ts';
import { AdsServer, type NackRecord, type SubscriberSummary } from './ads/server.ts';
import { buildSnapshot, type Snapshot } from './ads/snapshot.ts';
import { EtcdStore } from './store/etcd-store.ts';
import { FileStore } from './store/file-store.ts';
import type { RegistryState, RegistryStore, StoreStatus } from './store/types.ts';
import { startRegistryServer, type RegistryServer } from './registry/server.ts';
import { RevisionWaiters } from './revision-waiters.ts';

const COMPILE_DELAY_MS = 20;
const NACKS_KEPT = 50;

export interface NackEvent extends NackRecord {
  node: string;
  peer: string;
  typeUrl: string;
}

/** What the registry's API and pages read. */
export interface RegistryView {
  readonly config: ControlPlaneConfig;
  readonly store: RegistryStore;
  compiled(): CompileResult | null;
  snapshotVersion(): string | null;
  subscribers(): SubscriberSummary[];
  recentNacks(): NackEvent[];
  /** Resolves once a snapshot at `revision` or later is compiled (bounded by `timeoutMs`). */
  waitForCompiled(revision: number, timeoutMs: number): Promise<boolean>;
}

export class ControlPlane implements RegistryView {
  readonly store: RegistryStore;
  private readonly ads: AdsServer;
  private registry: RegistryServer | null = null;
  private lastCompiled: CompileResult | null = null;
  private snapshot: Snapshot | null = null;
  private compileTimer: NodeJS.Timeout | null = null;
  private readonly nacks: NackEvent[] = [];
  private readonly waiters = new RevisionWaiters();
  xdsPort = 0;
  registryPort = 0;
  /** One object for the life of the process: the compiler reuses per-service work while it is the same. */
  private readonly compileOptions: CompileOptions;

  constructor(
    readonly config: ControlPlaneConfig,
    private readonly log: Logger,
  ) {
    this.compileOptions = { trustDomain: config.trustDomain, clusterTls: config.clusterTls };
    this.store = config.source.etcd ? new EtcdStore(config.source.etcd, log) : new FileStore(config.source.file!, log);
    this.ads = new AdsServer(log);
    this.ads.onNack((sub, typeUrl, nack) => {
      this.nacks.unshift({ ...nack, node: sub.node, peer: sub.peer, typeUrl });
      this.nacks.length = Math.min(this.nacks.length, NACKS_KEPT);
    });
    this.store.onChange(() => this.scheduleCompile());
    this.store.onStatus((s: StoreStatus) => {
      if (s.state === 'unreachable') this.log.warn({ version: this.snapshot?.version ?? null }, 'registry store unreachable; the last snapshot stays served');
    });
  }

  async start(): Promise<void> {
    this.xdsPort = await this.ads.listen({ ...this.config.xds.address, ...(this.config.xds.tls ? { tls: this.config.xds.tls } : {}) });
    this.registry = await startRegistryServer(this, this.config.registry, this.log);
    this.registryPort = this.registry.port;
    await this.store.start();
    this.log.info(
      { xds: `${this.config.xds.address.host}:${this.xdsPort}`, registry: `${this.config.registry.address.host}:${this.registryPort}`, source: this.store.status().kind },
      'gatehouse control plane serving',
    );
  }

  async stop(): Promise<void> {
    if (this.compileTimer) clearTimeout(this.compileTimer);
    this.waiters.close();
    await Promise.allSettled([this.ads.close(), this.registry?.close(), this.store.close()]);
  }

  compiled(): CompileResult | null {
    return this.lastCompiled;
  }

  snapshotVersion(): string | null {
    return this.snapshot?.version ?? null;
  }

  subscribers(): SubscriberSummary[] {
    return this.ads.subscriberSummaries();
  }

  recentNacks(): NackEvent[] {
    return [...this.nacks];
  }

  waitForCompiled(revision: number, timeoutMs: number): Promise<boolean> {
    return this.waiters.wait(this.lastCompiled?.revision ?? 0, revision, timeoutMs);
  }

  private scheduleCompile(): void {
    if (this.compileTimer !== null) return;
    this.compileTimer = setTimeout(() => {
      this.compileTimer = null;
      const state = this.store.state();
      if (state) this.compileAndPush(state);
    }, COMPILE_DELAY_MS);
  }

  private compileAndPush(state: RegistryState): void {
    const started = performance.now();
    const result = compileRegistry(state, this.compileOptions, this.lastCompiled);
    this.reportProblemChanges(this.lastCompiled, result);
    this.lastCompiled = result;
    this.snapshot = buildSnapshot(result, this.snapshot, this.log);
    this.ads.setSnapshot(this.snapshot);
    this.log.debug({ version: this.snapshot.version, services: result.services.size, ms: Math.round(performance.now() - started) }, 'snapshot compiled');
    this.waiters.reached(result.revision);
  }

  private reportProblemChanges(before: CompileResult | null, after: CompileResult): void {
    for (const [name, outcome] of after.services) {
      const old = before?.services.get(name)?.problems ?? [];
      if (outcome.problems.join('\n') === old.join('\n')) continue;
      if (outcome.problems.length > 0) this.log.warn({ service: name, problems: outcome.problems }, 'service left out of the snapshot');
      else if (old.length > 0) this.log.info({ service: name }, 'service served again');
    }
  }
}
