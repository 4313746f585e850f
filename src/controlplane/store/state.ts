import { validateServiceDocument } from '../registry/document.ts';
import type { RegisteredInstance, RegistryState, StoredService } from './types.ts';

// Copy-on-write registry state shared by the stores: every change makes new maps, so a state handed
// to the compiler, the ADS server or a page never changes under it.

export const EMPTY_STATE: RegistryState = Object.freeze({ revision: 0, services: new Map(), instances: new Map() });

/** A stored service from its bytes: validated again (a key written around the API may hold anything). */
export function storedServiceFromBytes(name: string, bytes: string, revision: number, createRevision: number): StoredService {
  let parsed: unknown;
  try {
    parsed = JSON.parse(bytes);
  } catch {
    return { name, document: null, invalid: ['(root): not valid JSON'], revision, createRevision };
  }
  const result = validateServiceDocument(parsed, name);
  return result.ok
    ? { name, document: result.document, revision, createRevision }
    : { name, document: null, invalid: result.errors, revision, createRevision };
}

/**
 * Accumulates changes on top of a state; `commit()` gives the new state. Only what changes is copied:
 * an untouched service keeps its StoredService and its instance map objects, which lets the compiler
 * reuse what it built for them last time.
 */
export class StateBuilder {
  private services: Map<string, StoredService> | null = null;
  private instances: Map<string, ReadonlyMap<string, readonly RegisteredInstance[]>> | null = null;
  /** Services whose version map was already copied in this batch. */
  private readonly copied = new Set<string>();

  constructor(private readonly base: RegistryState) {}

  putService(s: StoredService): void {
    this.services ??= new Map(this.base.services);
    this.services.set(s.name, s);
  }

  deleteService(name: string): void {
    this.services ??= new Map(this.base.services);
    this.services.delete(name);
  }

  putInstance(service: string, version: string, instance: RegisteredInstance): void {
    const versions = this.versionsOf(service);
    const list = (versions.get(version) ?? []).filter((i) => i.address !== instance.address);
    list.push(instance);
    list.sort((a, b) => (a.address < b.address ? -1 : a.address > b.address ? 1 : 0));
    versions.set(version, list);
  }

  deleteInstance(service: string, version: string, address: string): void {
    const versions = this.versionsOf(service);
    const list = (versions.get(version) ?? []).filter((i) => i.address !== address);
    if (list.length > 0) versions.set(version, list);
    else versions.delete(version);
    if (versions.size === 0) this.instances!.delete(service);
  }

  commit(revision: number): RegistryState {
    return Object.freeze({
      revision,
      services: this.services ?? this.base.services,
      instances: this.instances ?? this.base.instances,
    });
  }

  /** The service's version map, copied once per batch before it is changed. */
  private versionsOf(service: string): Map<string, readonly RegisteredInstance[]> {
    this.instances ??= new Map(this.base.instances);
    let versions = this.instances.get(service);
    if (!this.copied.has(service) || versions === undefined) {
      versions = new Map(versions ?? []);
      this.instances.set(service, versions);
      this.copied.add(service);
    }
    return versions as Map<string, readonly RegisteredInstance[]>;
  }
}
