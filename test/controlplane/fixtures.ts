import { validateServiceDocument, type ServiceDocument } from '../../src/controlplane/registry/document.ts';
import type { RegisteredInstance, RegistryState, StoredService } from '../../src/controlplane/store/types.ts';
import type { CompileOptions } from '../../src/controlplane/compile.ts';

// Registry states for the compiler's table tests: documents go through the real validator.

export const OPTIONS: CompileOptions = {
  trustDomain: 'mesh.local',
  clusterTls: { certFile: '/etc/gatehouse/gatehouse.crt', keyFile: '/etc/gatehouse/gatehouse.key', caFile: '/etc/gatehouse/ca.crt' },
};

export function doc(input: Record<string, unknown>): ServiceDocument {
  const r = validateServiceDocument(input);
  if (!r.ok) throw new Error(`fixture is not a valid document: ${r.errors.join('; ')}`);
  return r.document;
}

/** Services in creation order (the first listed was created first) and live instances "svc/ver" → addresses. */
export function registry(services: Array<ServiceDocument | StoredService>, instances: Record<string, string[]> = {}, revision = 100): RegistryState {
  const map = new Map<string, StoredService>();
  services.forEach((s, i) => {
    const stored: StoredService = 'document' in s && 'revision' in s ? s : { name: (s as ServiceDocument).name, document: s as ServiceDocument, revision: 10 + i, createRevision: 10 + i };
    map.set(stored.name, stored);
  });
  const inst = new Map<string, Map<string, RegisteredInstance[]>>();
  for (const [key, addresses] of Object.entries(instances)) {
    const [svc, ver] = key.split('/') as [string, string];
    const versions = inst.get(svc) ?? new Map<string, RegisteredInstance[]>();
    versions.set(ver, addresses.map((address) => ({ address, lease: 'abc', registeredAt: '' })));
    inst.set(svc, versions);
  }
  return { revision, services: map, instances: inst };
}
