/**
 * What the API and the pages say about a service: its document, revision, live instances per
 * version and the compiler's problems — one shape for both, read from the last state and compile.
 */
import type { ServiceDocument } from './document.ts';
import type { RegistryView } from '../control-plane.ts';
import type { RegistryState, StoredService } from '../store/types.ts';

export interface InstanceView {
  address: string;
  lease: string;
  registeredAt: string;
}

export interface ServiceView {
  name: string;
  revision: number;
  document: ServiceDocument | null;
  /** The compiler's reasons to leave it out; empty when served. */
  problems: string[];
  /** Whether the last compile served it (false while a new write is not compiled yet). */
  served: boolean;
  instances: Record<string, InstanceView[]>;
}

export function serviceView(view: RegistryView, state: RegistryState, stored: StoredService): ServiceView {
  const outcome = view.compiled()?.services.get(stored.name);
  const compiledNow = (view.compiled()?.revision ?? 0) >= stored.revision;
  const problems = stored.document === null ? (stored.invalid ?? []).map((e) => `stored document: ${e}`) : (outcome?.problems ?? []);
  const instances: Record<string, InstanceView[]> = {};
  for (const [version, list] of state.instances.get(stored.name) ?? []) instances[version] = list.map((i) => ({ ...i }));
  return { name: stored.name, revision: stored.revision, document: stored.document, problems, served: compiledNow && outcome !== undefined && problems.length === 0, instances };
}

/** `GET /services/<name>`: the document, plus the read-only `revision`, `problems` and `instances`. */
export function documentResponse(sv: ServiceView): Record<string, unknown> {
  return { ...(sv.document ?? { name: sv.name }), revision: sv.revision, problems: sv.problems, instances: sv.instances };
}

export function allServiceViews(view: RegistryView): ServiceView[] {
  const state = view.store.state();
  if (!state) return [];
  return [...state.services.values()].sort((a, b) => (a.name < b.name ? -1 : 1)).map((s) => serviceView(view, state, s));
}
