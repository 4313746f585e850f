/**
 * A versioned snapshot: the compiled resources encoded once as `Any`s, per type URL, each with a
 * digest of its content. The ADS server sends from it; the digests tell it whether a subscriber's
 * view changed. A resource whose content did not change since the previous snapshot reuses its
 * encoded bytes, so a change to one service does not re-encode a thousand others.
 */
import { createHash } from 'node:crypto';
import { packAny, TypeUrls, type AnyMessage } from '../../grpc/protos.ts';
import type { CompileResult, EnvoyResource } from '../compile.ts';
import type { Logger } from '../log.ts';

export interface PackedResource {
  readonly any: AnyMessage;
  readonly digest: string;
}

export interface Snapshot {
  /** The registry revision compiled (etcd's revision): equal across control-plane replicas. */
  readonly version: string;
  /** type URL → resource name → encoded resource. */
  readonly resources: ReadonlyMap<string, ReadonlyMap<string, PackedResource>>;
}

/** The order a change is pushed in: clusters and their endpoints before the routes that use them. */
export const PUSH_ORDER = [TypeUrls.cluster, TypeUrls.clusterLoadAssignment, TypeUrls.listener, TypeUrls.routeConfiguration] as const;

/** Encoded resources by the object they were encoded from: the compiler hands back the same object for an unchanged service. */
const encoded = new WeakMap<object, PackedResource>();

export function buildSnapshot(compiled: CompileResult, previous: Snapshot | null, log: Logger): Snapshot {
  const byType: Array<[string, Map<string, EnvoyResource>]> = [
    [TypeUrls.cluster, compiled.resources.clusters],
    [TypeUrls.clusterLoadAssignment, compiled.resources.clusterLoadAssignments],
    [TypeUrls.routeConfiguration, compiled.resources.routeConfigurations],
  ];
  const resources = new Map<string, Map<string, PackedResource>>();
  for (const [typeUrl, items] of byType) {
    const before = previous?.resources.get(typeUrl);
    const packed = new Map<string, PackedResource>();
    for (const [name, resource] of items) {
      const known = encoded.get(resource);
      if (known) {
        packed.set(name, known);
        continue;
      }
      const json = JSON.stringify(resource);
      const digest = createHash('sha256').update(json).digest('base64url').slice(0, 22);
      const reuse = before?.get(name);
      if (reuse?.digest === digest) {
        packed.set(name, reuse);
        encoded.set(resource, reuse);
        continue;
      }
      try {
        const fresh = { any: packAny(typeUrl, resource), digest };
        packed.set(name, fresh);
        encoded.set(resource, fresh);
      } catch (err) {
        // The compiler's output always fits (table-tested); if it ever does not, leave that one out.
        log.error({ name, typeUrl, error: (err as Error).message }, 'compiled resource does not encode; left out');
      }
    }
    resources.set(typeUrl, packed);
  }
  resources.set(TypeUrls.listener, new Map());
  return { version: String(compiled.revision), resources };
}
