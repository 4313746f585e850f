/**
 * The registry in etcd (etcd3 package): list the prefix once, then watch it from the next revision
 * (etcd3 resumes the watch from its last revision after a disconnect, so no change is missed; a
 * compacted history makes us list again). Writes are transactions: a compare on the document's mod
 * revision (If-Match), or on its create revision (create-only); instances are keys attached to a lease.
 *
 * While etcd is unreachable the last state stays readable (the ADS server keeps serving it), writes
 * fail with StoreUnavailableError, and status() says since when.
 */
import { readFileSync } from 'node:fs';
import { Etcd3, type IKeyValue, type IWatchResponse, type Watcher } from 'etcd3';
import { circuitBreaker, ConsecutiveBreaker, ExponentialBackoff, handleAll, type IBackoff } from 'cockatiel';
import type { ServiceDocument } from '../registry/document.ts';
import type { ControlPlaneConfig } from '../config.ts';
import type { Logger } from '../log.ts';
import { keyLayout, type KeyLayout } from './keys.ts';
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
import { RevisionWaiters } from '../revision-waiters.ts';

type EtcdSource = NonNullable<ControlPlaneConfig['source']['etcd']>;

export class EtcdStore extends StoreFeed implements RegistryStore {
  private readonly client: Etcd3;
  private readonly keys: KeyLayout;
  private readonly waiters = new RevisionWaiters();
  private watcher: Watcher | null = null;
  private closed = false;
  private syncing: Promise<void> | null = null;

  constructor(
    private readonly source: EtcdSource,
    private readonly log: Logger,
  ) {
    super('etcd');
    this.keys = keyLayout(source.prefix);
    this.client = new Etcd3({
      hosts: source.endpoints,
      dialTimeout: source.timeout,
      ...(source.tls
        ? {
            credentials: {
              rootCertificate: readFileSync(source.tls.caFile),
              ...(source.tls.certFile ? { certChain: readFileSync(source.tls.certFile), privateKey: readFileSync(source.tls.keyFile!) } : {}),
            },
          }
        : {}),
      ...(source.auth ? { auth: source.auth } : {}),
      grpcOptions: { 'grpc.keepalive_time_ms': 10_000, 'grpc.keepalive_timeout_ms': 5_000, 'grpc.keepalive_permit_without_calls': 1 },
      faultHandling: {
        // etcd3's defaults wait 5 s before trying a failed host again and back the watch off to 30 s;
        // a registry that just came back should be followed within a second or two.
        host: () => circuitBreaker(handleAll, { halfOpenAfter: 1_000, breaker: new ConsecutiveBreaker(3) }),
        // etcd3 calls `.next()` on this to start each backoff sequence: a factory, whatever its d.ts says.
        watchBackoff: new ExponentialBackoff({ initialDelay: 100, maxDelay: 1_000 }) as unknown as IBackoff<unknown>,
      },
    });
  }

  async start(): Promise<void> {
    this.syncing = this.syncLoop();
    // Wait for the first state a little; while etcd is away the control plane starts anyway and
    // serves nothing until the first read (gateways keep their last config meanwhile).
    await Promise.race([this.waitForRevision(1, this.source.timeout), this.syncing]);
  }

  async close(): Promise<void> {
    this.closed = true;
    this.waiters.close();
    await this.watcher?.cancel().catch(() => undefined);
    this.client.close();
    await this.syncing?.catch(() => undefined);
  }

  waitForRevision(revision: number, timeoutMs: number): Promise<boolean> {
    return this.waiters.wait(this.current?.revision ?? 0, revision, timeoutMs);
  }

  // ───────────────────────────── reading ─────────────────────────────

  /** List, then watch; on a compacted watch (or a failed list) start over after a short pause. */
  private async syncLoop(): Promise<void> {
    let pause = 200;
    while (!this.closed) {
      try {
        const revision = await this.list();
        pause = 200;
        const ended = await this.watchFrom(revision + 1);
        if (this.closed) return;
        this.log.warn({ reason: ended }, 'etcd watch ended; listing the registry again');
      } catch (err) {
        if (this.closed) return;
        this.setStatus('unreachable', errorText(err));
      }
      await new Promise((r) => setTimeout(r, pause));
      pause = Math.min(pause * 2, 2_000);
    }
  }

  private async list(): Promise<number> {
    const res = await this.client.getAll().prefix(this.source.prefix).options(this.callOptions()).exec();
    const builder = new StateBuilder(EMPTY_STATE);
    for (const kv of res.kvs) this.applyPut(builder, kv);
    this.publish(builder.commit(Number(res.header.revision)));
    this.setStatus('connected');
    return Number(res.header.revision);
  }

  /** Resolves (with why) when the watch cannot go on: etcd compacted past it, or it was cancelled. */
  private watchFrom(revision: number): Promise<string> {
    return new Promise((resolve, reject) => {
      const watcher = this.client.watch().prefix(this.source.prefix).startRevision(String(revision)).watcher();
      this.watcher = watcher;
      watcher.on('data', (res: IWatchResponse) => this.applyWatch(res));
      watcher.on('connected', () => this.setStatus('connected'));
      watcher.on('disconnected', (err) => this.setStatus('unreachable', errorText(err)));
      watcher.on('error', (err) => {
        this.watcher = null;
        void watcher.cancel().catch(() => undefined);
        if (this.currentStatus.state === 'connected') resolve(errorText(err));
        else reject(err);
      });
      watcher.on('end', () => resolve('watch ended'));
    });
  }

  private applyWatch(res: IWatchResponse): void {
    if (res.events.length === 0 || this.current === null) return;
    const builder = new StateBuilder(this.current);
    for (const ev of res.events) {
      if (ev.type === 'Put') this.applyPut(builder, ev.kv);
      else this.applyDelete(builder, ev.kv);
    }
    this.publish(builder.commit(Number(res.header.revision)));
  }

  private applyPut(builder: StateBuilder, kv: IKeyValue): void {
    const key = this.keys.parse(kv.key.toString());
    if (key?.kind === 'service') {
      builder.putService(storedServiceFromBytes(key.name, kv.value.toString(), Number(kv.mod_revision), Number(kv.create_revision)));
    } else if (key?.kind === 'instance') {
      let registeredAt = '';
      try {
        registeredAt = String((JSON.parse(kv.value.toString()) as { registeredAt?: unknown }).registeredAt ?? '');
      } catch {
        // an instance written around the API still counts: its key says everything that matters
      }
      builder.putInstance(key.service, key.version, { address: key.address, lease: leaseHex(kv.lease), registeredAt });
    }
  }

  private applyDelete(builder: StateBuilder, kv: IKeyValue): void {
    const key = this.keys.parse(kv.key.toString());
    if (key?.kind === 'service') builder.deleteService(key.name);
    else if (key?.kind === 'instance') builder.deleteInstance(key.service, key.version, key.address);
  }

  private publish(state: RegistryState): void {
    this.current = state;
    this.waiters.reached(state.revision);
    this.publishState(state);
  }

  private setStatus(state: StoreStatus['state'], error?: string): void {
    if (this.closed || (this.currentStatus.state === state && this.currentStatus.error === error)) return;
    const changed = this.currentStatus.state !== state;
    const status: StoreStatus = { kind: 'etcd', state, since: changed ? Date.now() : this.currentStatus.since, ...(error ? { error } : {}) };
    if (!changed) {
      this.currentStatus = status; // a new error text for the same state: shown, not announced
      return;
    }
    if (state === 'unreachable') this.log.error({ error }, 'etcd unreachable; serving the last compiled snapshot');
    else if (state === 'connected') this.log.info({ endpoints: this.source.endpoints }, 'etcd connected');
    this.publishStatus(status);
  }

  // ───────────────────────────── writing ─────────────────────────────

  async putService(name: string, document: ServiceDocument, condition: WriteCondition): Promise<WriteResult> {
    const key = this.keys.service(name);
    const value = JSON.stringify(document);
    return this.call(async () => {
      if (condition.ifRevision === undefined && !condition.ifAbsent && !condition.ifExists) {
        const res = await this.client.put(key).value(value).options(this.callOptions()).getPrevious();
        return { ok: true, revision: Number(res.header.revision), created: res.key === undefined };
      }
      const txn = condition.ifAbsent
        ? this.client.if(key, 'Create', '==', 0)
        : condition.ifRevision !== undefined
          ? this.client.if(key, 'Mod', '==', condition.ifRevision)
          : this.client.if(key, 'Create', '>', 0);
      const res = await txn.then(this.client.put(key).value(value)).else(this.client.get(key)).options(this.callOptions()).commit();
      if (res.succeeded) return { ok: true, revision: Number(res.header.revision), created: condition.ifAbsent === true };
      return { ok: false, reason: 'conflict', current: this.storedFromRange(name, res.responses[0]?.response_range?.kvs[0]) };
    });
  }

  async deleteService(name: string, condition: WriteCondition): Promise<WriteResult> {
    const key = this.keys.service(name);
    return this.call(async () => {
      const txn =
        condition.ifRevision !== undefined ? this.client.if(key, 'Mod', '==', condition.ifRevision) : this.client.if(key, 'Create', '>', 0);
      // The service's instances go with it (their leases lapse on their own).
      const res = await txn
        .then(this.client.delete().key(key), this.client.delete().prefix(this.keys.serviceInstancesPrefix(name)))
        .else(this.client.get(key))
        .options(this.callOptions())
        .commit();
      if (res.succeeded) return { ok: true, revision: Number(res.header.revision), created: false };
      const current = this.storedFromRange(name, res.responses[0]?.response_range?.kvs[0]);
      return current === null && condition.ifRevision === undefined ? { ok: false, reason: 'not_found' } : { ok: false, reason: 'conflict', current };
    });
  }

  async registerInstance(service: string, version: string, address: string, ttlSeconds: number): Promise<RegisterResult> {
    return this.call(async () => {
      const lease = this.client.lease(ttlSeconds, { autoKeepAlive: false, ...this.callOptions() });
      const id = await lease.grant();
      lease.release(); // the instance keeps it alive (keepalive endpoint or etcd directly), not us
      const key = this.keys.instance(service, version, address);
      const value = JSON.stringify({ address, registeredAt: new Date().toISOString() });
      // Only while the service exists: an instance never outlives a deleted service by a race.
      const res = await this.client
        .if(this.keys.service(service), 'Create', '>', 0)
        .then(this.client.put(key).value(value).lease(id))
        .options(this.callOptions())
        .commit();
      if (!res.succeeded) {
        await this.client.leaseClient.leaseRevoke({ ID: id }, this.callOptions()).catch(() => undefined);
        throw new StoreUnavailableError(`service ${service} was deleted meanwhile`);
      }
      return { lease: leaseHex(id), ttlSeconds, revision: Number(res.header.revision) };
    });
  }

  async keepAliveInstance(service: string, version: string, address: string): Promise<{ lease: string; ttlSeconds: number } | null> {
    return this.call(async () => {
      const res = await this.client.get(this.keys.instance(service, version, address)).options(this.callOptions()).exec();
      const kv = res.kvs[0];
      if (!kv || kv.lease === '0') return null;
      const stream = await this.client.leaseClient.leaseKeepAlive(this.callOptions());
      try {
        const answer = await new Promise<{ TTL: string }>((resolve, reject) => {
          stream.on('data', resolve);
          stream.on('error', reject);
          stream.write({ ID: kv.lease });
        });
        const ttl = Number(answer.TTL);
        return ttl > 0 ? { lease: leaseHex(kv.lease), ttlSeconds: ttl } : null;
      } finally {
        stream.end();
      }
    });
  }

  async deregisterInstance(service: string, version: string, address: string): Promise<boolean> {
    return this.call(async () => {
      const key = this.keys.instance(service, version, address);
      const res = await this.client.get(key).options(this.callOptions()).exec();
      const kv = res.kvs[0];
      if (!kv) return false;
      await this.client.delete().key(key).options(this.callOptions()).exec();
      if (kv.lease !== '0') await this.client.leaseClient.leaseRevoke({ ID: kv.lease }, this.callOptions()).catch(() => undefined);
      return true;
    });
  }

  private storedFromRange(name: string, kv: IKeyValue | undefined): StoredService | null {
    return kv ? storedServiceFromBytes(name, kv.value.toString(), Number(kv.mod_revision), Number(kv.create_revision)) : null;
  }

  private callOptions(): { deadline: Date } {
    return { deadline: new Date(Date.now() + this.source.timeout) };
  }

  /** Runs an etcd call; any failure of etcd itself becomes StoreUnavailableError (503). */
  private async call<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      if (err instanceof StoreUnavailableError) throw err;
      throw new StoreUnavailableError(`etcd: ${errorText(err)}`);
    }
  }
}

/** Lease IDs as etcd's tools print them (hex), e.g. `694d7c3e8f0a1b2c`. */
function leaseHex(id: string | number): string {
  return BigInt(id).toString(16);
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message.replace(/ Please report this error.*$/, '') : String(err);
}
