import type { ServiceDocument } from '../registry/document.ts';

// What every registry store (etcd, file) holds and offers. The store is the only state of the
// control plane: the compiler and the ADS server work from `state()`, the REST API writes through it.

export interface StoredService {
  name: string;
  /** null when the stored bytes are not a valid document (written around the API): shown as a problem. */
  document: ServiceDocument | null;
  /** Why `document` is null. */
  invalid?: string[];
  /** etcd's mod revision (the ETag); a counter in the file store. */
  revision: number;
  /** etcd's create revision: who came first when two services claim one route. */
  createRevision: number;
}

export interface RegisteredInstance {
  address: string;
  lease: string;
  registeredAt: string;
}

export interface RegistryState {
  /** The store revision this state reflects (etcd's header revision): the snapshot version. */
  readonly revision: number;
  readonly services: ReadonlyMap<string, StoredService>;
  /** service → version → live instances (sorted by address). */
  readonly instances: ReadonlyMap<string, ReadonlyMap<string, readonly RegisteredInstance[]>>;
}

export interface StoreStatus {
  kind: 'etcd' | 'file';
  state: 'connecting' | 'connected' | 'unreachable';
  /** Epoch ms of the last state change. */
  since: number;
  error?: string;
}

/** CAS condition of a write: the revision the writer last saw (If-Match), or "must not exist yet". */
export interface WriteCondition {
  ifRevision?: number;
  ifAbsent?: boolean;
  /** `If-Match: *`: only if it exists (any revision). */
  ifExists?: boolean;
}

export type WriteResult =
  | { ok: true; revision: number; created: boolean }
  | { ok: false; reason: 'conflict'; current: StoredService | null }
  | { ok: false; reason: 'not_found' };

export interface RegisterResult {
  lease: string;
  ttlSeconds: number;
  revision: number;
}

/** Thrown when the backing store cannot be reached (the REST API answers 503). */
export class StoreUnavailableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StoreUnavailableError';
  }
}

export interface RegistryStore {
  /** Loads the first state (retrying in the background while the store is unreachable). */
  start(): Promise<void>;
  close(): Promise<void>;
  /** The last state read; kept while the store is unreachable. Null before the first read. */
  state(): RegistryState | null;
  status(): StoreStatus;
  /** Called after every change of `state()`; batched changes call it once. */
  onChange(listener: (state: RegistryState) => void): void;
  onStatus(listener: (status: StoreStatus) => void): void;
  putService(name: string, document: ServiceDocument, condition: WriteCondition): Promise<WriteResult>;
  deleteService(name: string, condition: WriteCondition): Promise<WriteResult>;
  registerInstance(service: string, version: string, address: string, ttlSeconds: number): Promise<RegisterResult>;
  /** Renews an instance's lease; null when the instance (or its lease) is gone. */
  keepAliveInstance(service: string, version: string, address: string): Promise<{ lease: string; ttlSeconds: number } | null>;
  deregisterInstance(service: string, version: string, address: string): Promise<boolean>;
  /** Resolves true once `state().revision >= revision` (read-your-writes for the API), false after `timeoutMs`. */
  waitForRevision(revision: number, timeoutMs: number): Promise<boolean>;
}
