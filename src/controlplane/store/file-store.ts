/**
 * `source: { file: resources.yaml }`: the registry in one YAML (or JSON) file, for a single machine
 * without etcd. The file is `services: [ <document>, … ]`; it is polled (a hand edit is picked up)
 * and rewritten atomically by API writes (temp file + rename; comments in it are not kept).
 *
 * Revisions are this process's counter: ETags and If-Match work as with etcd while the process runs.
 * Instance registrations live in memory with a timer per lease (nothing to share on one machine).
 * A file that cannot be read or parsed keeps the last good state and shows as `unreachable`.
 */
import { randomBytes } from 'node:crypto';
import { readFile, rename, writeFile } from 'node:fs/promises';
import { unwatchFile, watchFile } from 'node:fs';
import YAML from 'yaml';
import type { ServiceDocument } from '../registry/document.ts';
import type { Logger } from '../log.ts';
import { EMPTY_STATE, StateBuilder, storedServiceFromBytes } from './state.ts';
import {
  StoreUnavailableError,
  type RegisterResult,
  type RegistryState,
  type RegistryStore,
  type StoreStatus,
  type StoredService,
  type WriteCondition,
  type WriteResult,
} from './types.ts';
import { StoreFeed } from './store-feed.ts';

const POLL_MS = 500;

interface Lease {
  id: string;
  ttlSeconds: number;
  timer: NodeJS.Timeout;
  key: { service: string; version: string; address: string };
}

export class FileStore extends StoreFeed implements RegistryStore {
  private revision = 0;
  private readonly leases = new Map<string, Lease>(); // by instance key
  /** The text we last wrote or read: a poll that sees it again is not a change. */
  private lastText: string | null = null;
  /** Writes (and reloads) one at a time, so read-modify-write never interleaves. */
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly file: string,
    private readonly log: Logger,
  ) {
    super('file');
  }

  async start(): Promise<void> {
    await this.serial(() => this.reload());
    watchFile(this.file, { interval: POLL_MS }, () => void this.serial(() => this.reload()));
  }

  async close(): Promise<void> {
    unwatchFile(this.file);
    for (const l of this.leases.values()) clearTimeout(l.timer);
    this.leases.clear();
    await this.queue.catch(() => undefined);
  }

  async waitForRevision(revision: number): Promise<boolean> {
    // Changes are published before a write returns: there is nothing to wait for.
    return (this.current?.revision ?? 0) >= revision;
  }

  putService(name: string, document: ServiceDocument, condition: WriteCondition): Promise<WriteResult> {
    return this.serial(async () => {
      const existing = this.current?.services.get(name) ?? null;
      const conflict = this.conflict(existing, condition);
      if (conflict) return conflict;
      const revision = this.revision + 1;
      const builder = new StateBuilder(this.current ?? EMPTY_STATE);
      builder.putService({ name, document, revision, createRevision: existing?.createRevision ?? revision });
      await this.persist(builder.commit(revision));
      return { ok: true, revision, created: existing === null };
    });
  }

  deleteService(name: string, condition: WriteCondition): Promise<WriteResult> {
    return this.serial(async () => {
      const existing = this.current?.services.get(name) ?? null;
      if (existing === null && condition.ifRevision === undefined && !condition.ifExists) return { ok: false, reason: 'not_found' };
      const conflict = this.conflict(existing, condition);
      if (conflict) return conflict;
      const revision = this.revision + 1;
      const builder = new StateBuilder(this.current ?? EMPTY_STATE);
      builder.deleteService(name);
      for (const [key, lease] of this.leases) {
        if (lease.key.service !== name) continue;
        clearTimeout(lease.timer);
        this.leases.delete(key);
        builder.deleteInstance(lease.key.service, lease.key.version, lease.key.address);
      }
      await this.persist(builder.commit(revision));
      return { ok: true, revision, created: false };
    });
  }

  registerInstance(service: string, version: string, address: string, ttlSeconds: number): Promise<RegisterResult> {
    return this.serial(async () => {
      if (!this.current?.services.has(service)) throw new StoreUnavailableError(`service ${service} was deleted meanwhile`);
      const key = instanceKey(service, version, address);
      const old = this.leases.get(key);
      if (old) clearTimeout(old.timer);
      const id = randomBytes(8).toString('hex');
      const lease: Lease = { id, ttlSeconds, key: { service, version, address }, timer: this.expiry(key, ttlSeconds) };
      this.leases.set(key, lease);
      const builder = new StateBuilder(this.current);
      builder.putInstance(service, version, { address, lease: id, registeredAt: new Date().toISOString() });
      const revision = this.publish(builder, this.revision + 1);
      return { lease: id, ttlSeconds, revision };
    });
  }

  async keepAliveInstance(service: string, version: string, address: string): Promise<{ lease: string; ttlSeconds: number } | null> {
    const key = instanceKey(service, version, address);
    const lease = this.leases.get(key);
    if (!lease) return null;
    clearTimeout(lease.timer);
    lease.timer = this.expiry(key, lease.ttlSeconds);
    return { lease: lease.id, ttlSeconds: lease.ttlSeconds };
  }

  deregisterInstance(service: string, version: string, address: string): Promise<boolean> {
    return this.serial(async () => this.dropInstance(instanceKey(service, version, address)));
  }

  // ───────────────────────────── internals ─────────────────────────────

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(fn, fn);
    this.queue = run.catch(() => undefined);
    return run;
  }

  private conflict(existing: StoredService | null, condition: WriteCondition): WriteResult | null {
    if (condition.ifAbsent && existing !== null) return { ok: false, reason: 'conflict', current: existing };
    if (condition.ifExists && existing === null) return { ok: false, reason: 'conflict', current: null };
    if (condition.ifRevision !== undefined && existing?.revision !== condition.ifRevision) return { ok: false, reason: 'conflict', current: existing };
    return null;
  }

  private expiry(key: string, ttlSeconds: number): NodeJS.Timeout {
    const t = setTimeout(() => void this.serial(async () => this.dropInstance(key)), ttlSeconds * 1000);
    t.unref();
    return t;
  }

  private dropInstance(key: string): boolean {
    const lease = this.leases.get(key);
    if (!lease || !this.current) return false;
    clearTimeout(lease.timer);
    this.leases.delete(key);
    const builder = new StateBuilder(this.current);
    builder.deleteInstance(lease.key.service, lease.key.version, lease.key.address);
    this.publish(builder, this.revision + 1);
    return true;
  }

  /** Writes the services of `next` to the file, then publishes `next`. */
  private async persist(next: RegistryState): Promise<void> {
    const services = [...next.services.values()]
      .sort((a, b) => a.createRevision - b.createRevision)
      .map((s) => s.document)
      .filter((d) => d !== null);
    const text = YAML.stringify({ services }, { lineWidth: 0 });
    const tmp = `${this.file}.${process.pid}.tmp`;
    try {
      await writeFile(tmp, text, { mode: 0o644 });
      await rename(tmp, this.file);
    } catch (err) {
      throw new StoreUnavailableError(`cannot write ${this.file}: ${(err as Error).message}`);
    }
    this.lastText = text;
    this.revision = next.revision;
    this.publishState(next);
  }

  private publish(builder: StateBuilder, revision: number): number {
    this.revision = revision;
    this.publishState(builder.commit(revision));
    return revision;
  }

  private async reload(): Promise<void> {
    let text: string;
    try {
      text = await readFile(this.file, 'utf8');
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' && this.current === null) text = ''; // a new registry: the first write creates it
      else return this.setStatus('unreachable', `cannot read ${this.file}: ${code ?? String(err)}`);
    }
    if (text === this.lastText) return this.setStatus('connected');
    let entries: unknown[];
    try {
      const parsed: unknown = text.trim() === '' ? { services: [] } : YAML.parse(text, { uniqueKeys: true, maxAliasCount: 100 });
      const list = (parsed as { services?: unknown } | null)?.services ?? [];
      if (!Array.isArray(list)) throw new Error('services: expected a list');
      entries = list;
    } catch (err) {
      return this.setStatus('unreachable', `${this.file}: ${(err as Error).message.split('\n')[0]}`);
    }
    this.lastText = text;
    const previous = this.current ?? EMPTY_STATE;
    // Each changed service gets its own revision, in file order: the file's order is who came first.
    let revision = this.revision;
    const builder = new StateBuilder(previous);
    const seen = new Set<string>();
    entries.forEach((entry, i) => {
      const given = (entry as { name?: unknown } | null)?.name;
      const name = typeof given === 'string' && given !== '' ? given : `services[${i}]`;
      if (seen.has(name)) return this.log.warn({ name }, 'service listed twice in the registry file; the first entry counts');
      seen.add(name);
      const bytes = JSON.stringify(entry);
      const before = previous.services.get(name);
      const next = storedServiceFromBytes(name, bytes, revision + 1, before?.createRevision ?? revision + 1);
      if (before !== undefined && JSON.stringify(before.document) === JSON.stringify(next.document) && before.document !== null) return;
      revision += 1;
      builder.putService(next);
    });
    for (const name of previous.services.keys()) {
      if (seen.has(name)) continue;
      revision += 1;
      builder.deleteService(name);
    }
    if (revision !== this.revision || this.current === null) this.publish(builder, Math.max(revision, 1));
    this.setStatus('connected');
    this.log.info({ file: this.file, services: seen.size }, 'registry file loaded');
  }

  private setStatus(state: StoreStatus['state'], error?: string): void {
    if (this.currentStatus.state === state && this.currentStatus.error === error) return;
    if (error) this.log.error({ error }, 'registry file unusable; serving the last compiled snapshot');
    this.publishStatus({ kind: 'file', state, since: Date.now(), ...(error ? { error } : {}) });
  }
}

function instanceKey(service: string, version: string, address: string): string {
  return `${service}/${version}/${address}`;
}
