import cluster, { type Worker } from 'node:cluster';
import { log } from '../../observability/logger.ts';
import type { HealthSnapshot, ServingStatus } from '../../health/health-statuses.ts';
import { aggregateHealth } from './health-aggregate.ts';
import { RestartBackoff, DEFAULT_BACKOFF, type BackoffOptions } from './backoff.ts';
import { isGatehouseMessage, type AdminRequestMessage, type ToPrimary, type ToWorker } from './messages.ts';

// The primary's view of its N workers (node:cluster): one slot per worker, each replaced when its
// worker exits (with backoff: backoff.ts), their reported health aggregated for the group
// (health-aggregate.ts), admin requests handed to a ready worker, and the group drain.
//
// Failing at start: if a worker exits before any worker of the group has ever been ready, the group
// cannot start (a port taken, a certificate unreadable…): everything stops and the primary exits 1,
// like a single process would, rather than retrying forever.

interface Slot {
  readonly index: number;
  worker: Worker | null;
  startedAt: number;
  health: HealthSnapshot | null;
  version: number | null;
  drain: { delay: number; timeout: number };
  readonly backoff: RestartBackoff;
  restartTimer: NodeJS.Timeout | null;
  restarts: number;
}

export interface WorkerSummary {
  slot: number;
  pid: number | null;
  ready: boolean;
  version: number | null;
  restarts: number;
}

export interface AdminAnswer {
  status: number;
  headers: Record<string, string | string[]>;
  body: Buffer;
}

const ADMIN_TIMEOUT_MS = 5000;

export class WorkerGroup {
  private readonly slots: Slot[];
  private everReady = false;
  private draining = false;
  private nextAdminId = 1;
  private readonly pendingAdmin = new Map<number, (a: AdminAnswer) => void>();
  private readonly healthListeners = new Set<(s: HealthSnapshot) => void>();
  private readonly exitListeners = new Set<(code: number) => void>();
  private failedAtStart = false;
  private allExitedZero = true;

  constructor(
    readonly size: number,
    backoff: BackoffOptions = DEFAULT_BACKOFF,
  ) {
    this.slots = Array.from({ length: size }, (_, index) => ({
      index,
      worker: null,
      startedAt: 0,
      health: null,
      version: null,
      drain: { delay: 0, timeout: 0 },
      backoff: new RestartBackoff(backoff),
      restartTimer: null,
      restarts: 0,
    }));
  }

  start(): void {
    cluster.on('message', (worker, m: unknown) => {
      if (!isGatehouseMessage<ToPrimary>(m)) return;
      const slot = this.slots.find((s) => s.worker === worker);
      if (m.gatehouse === 'health' && slot) {
        slot.health = new Map(m.services);
        slot.version = m.version;
        slot.drain = m.drain;
        if (!this.everReady && slot.health.get('') === 'SERVING') this.everReady = true;
        this.publishHealth();
      } else if (m.gatehouse === 'admin-response') {
        this.pendingAdmin.get(m.id)?.({ status: m.status, headers: m.headers, body: Buffer.from(m.body, 'base64') });
      }
    });
    cluster.on('exit', (worker, code, signal) => this.exited(worker, code, signal));
    for (const slot of this.slots) this.fork(slot);
  }

  /** The group's health: every worker ready for "", agreement for clusters (health-aggregate.ts). */
  get health(): HealthSnapshot {
    const live = this.slots.filter((s) => s.worker !== null && s.health !== null).map((s) => s.health!);
    return aggregateHealth(live, this.size, this.draining);
  }

  get ready(): boolean {
    return this.health.get('') === 'SERVING';
  }

  get isDraining(): boolean {
    return this.draining;
  }

  summary(): WorkerSummary[] {
    return this.slots.map((s) => ({
      slot: s.index,
      pid: s.worker?.process.pid ?? null,
      ready: s.health?.get('') === 'SERVING',
      version: s.version,
      restarts: s.restarts,
    }));
  }

  /** The longest drain any worker may take (its drain.delay + drain.timeout). */
  get longestDrainMs(): number {
    return Math.max(0, ...this.slots.map((s) => s.drain.delay + s.drain.timeout));
  }

  onHealth(fn: (s: HealthSnapshot) => void): void {
    this.healthListeners.add(fn);
    fn(this.health);
  }

  /** Called once when every worker is gone after a drain (0: all exited cleanly) or the start failed (1). */
  onExit(fn: (code: number) => void): void {
    this.exitListeners.add(fn);
  }

  /**
   * Hands an admin request to a worker — always the same one while it is up (the first ready slot), so
   * successive reads (the dashboard's live counters) show one consistent view — or answers 503.
   */
  adminRequest(req: Omit<AdminRequestMessage, 'gatehouse' | 'id'>): Promise<AdminAnswer> {
    const slot =
      this.slots.find((s) => s.worker?.isConnected() && s.health?.get('') === 'SERVING') ??
      this.slots.find((s) => s.worker?.isConnected() && s.health !== null);
    if (!slot) return Promise.resolve(jsonAnswer(503, { error: 'no_worker', message: 'no worker is up to answer' }));
    return this.askWorker(slot, req);
  }

  /** Hands an admin request to every worker that is up (the group's /stats), answers in slot order. */
  adminRequestAll(req: Omit<AdminRequestMessage, 'gatehouse' | 'id'>): Promise<AdminAnswer[]> {
    const up = this.slots.filter((s) => s.worker?.isConnected() && s.health !== null);
    return Promise.all(up.map((s) => this.askWorker(s, req)));
  }

  private askWorker(slot: Slot, req: Omit<AdminRequestMessage, 'gatehouse' | 'id'>): Promise<AdminAnswer> {
    const id = this.nextAdminId++;
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.pendingAdmin.delete(id);
        resolve(jsonAnswer(504, { error: 'worker_timeout', message: 'the worker did not answer in time' }));
      }, ADMIN_TIMEOUT_MS);
      this.pendingAdmin.set(id, (a) => {
        clearTimeout(timer);
        this.pendingAdmin.delete(id);
        resolve(a);
      });
      this.send(slot, { gatehouse: 'admin-request', id, ...req });
    });
  }

  /** SIGHUP reached the primary: every worker reopens its access-log file and reloads its config. */
  reload(): void {
    for (const s of this.slots) this.send(s, { gatehouse: 'reload' });
  }

  /** Starts the group drain: health NOT_SERVING now, every worker drains; onExit fires when all are gone. */
  drain(signal: 'SIGTERM' | 'SIGINT'): void {
    if (this.draining) return;
    this.draining = true;
    this.publishHealth();
    for (const s of this.slots) {
      if (s.restartTimer) clearTimeout(s.restartTimer);
      s.restartTimer = null;
      this.send(s, { gatehouse: 'drain', signal });
    }
    this.maybeDone();
  }

  /** Kills every worker now (a second signal, or a drain that overran its bound). */
  kill(): void {
    this.draining = true;
    for (const s of this.slots) {
      if (s.restartTimer) clearTimeout(s.restartTimer);
      s.restartTimer = null;
      s.worker?.process.kill('SIGKILL');
    }
  }

  private fork(slot: Slot): void {
    slot.restartTimer = null;
    slot.health = null;
    slot.version = null;
    slot.startedAt = Date.now();
    slot.worker = cluster.fork({ GATEHOUSE_WORKER_SLOT: String(slot.index) });
    this.publishHealth();
  }

  private exited(worker: Worker, code: number | null, signal: string | null): void {
    const slot = this.slots.find((s) => s.worker === worker);
    if (!slot) return;
    slot.worker = null;
    slot.health = null;
    if (this.draining && code !== 0) this.allExitedZero = false;
    this.publishHealth();
    if (this.draining || this.failedAtStart) {
      this.maybeDone();
      return;
    }
    if (!this.everReady) {
      log.error({ pid: worker.process.pid, code, signal }, 'worker failed to start; stopping');
      this.failedAtStart = true;
      this.allExitedZero = false;
      for (const s of this.slots) s.worker?.process.kill('SIGTERM');
      this.maybeDone();
      return;
    }
    const delay = slot.backoff.next(Date.now() - slot.startedAt);
    slot.restarts++;
    log.warn({ pid: worker.process.pid, code, signal, restartInMs: delay }, 'worker exited; starting another');
    slot.restartTimer = setTimeout(() => this.fork(slot), delay);
  }

  private maybeDone(): void {
    if (this.slots.some((s) => s.worker !== null)) return;
    const code = this.failedAtStart || !this.allExitedZero ? 1 : 0;
    for (const fn of this.exitListeners) fn(code);
    this.exitListeners.clear();
  }

  private send(slot: Slot, m: ToWorker): void {
    if (slot.worker?.isConnected()) slot.worker.send(m, undefined, () => undefined);
  }

  private lastSignature = '';
  private publishHealth(): void {
    const h = this.health;
    const signature = [...h].map(([k, v]: [string, ServingStatus]) => `${k}=${v}`).join('\n');
    if (signature === this.lastSignature) return;
    this.lastSignature = signature;
    for (const fn of this.healthListeners) fn(h);
  }
}

function jsonAnswer(status: number, body: unknown): AdminAnswer {
  return { status, headers: { 'content-type': 'application/json' }, body: Buffer.from(JSON.stringify(body)) };
}
