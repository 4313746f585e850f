import { messageType, TYPE_URL_PREFIX, unpackAny, type AnyMessage } from '../../grpc/protos.ts';
import { translateCluster, type ClusterFragment } from './cluster.ts';
import { translateClusterLoadAssignment, type EndpointsFragment } from './endpoints.ts';
import type { FieldError, Obj } from './fields.ts';
import { translateRouteConfiguration, type RouteConfigFragment } from './route.ts';

// One resource off the wire: decode the Any (unwrapping envoy.service.discovery.v3.Resource), take
// its name, translate it. Pure; runs in the translation worker (or in-process in tests).

export type Outcome =
  | { ok: true; kind: 'rds'; name: string; value: RouteConfigFragment }
  | { ok: true; kind: 'cds'; name: string; value: ClusterFragment }
  | { ok: true; kind: 'eds'; name: string; value: EndpointsFragment }
  /** name is null when the resource could not even be decoded. */
  | { ok: false; name: string | null; errors: FieldError[] };

const RESOURCE_WRAPPER = `${TYPE_URL_PREFIX}envoy.service.discovery.v3.Resource`;

export function decodeAndTranslate(label: 'rds' | 'cds' | 'eds', typeUrl: string, any: AnyMessage): Outcome {
  let msg: Obj;
  try {
    msg = decode(any, typeUrl);
  } catch (err) {
    return { ok: false, name: null, errors: [{ path: '', message: `cannot decode: ${(err as Error).message}` }] };
  }
  const name = String(label === 'eds' ? msg.cluster_name : msg.name);
  if (label === 'rds') {
    const t = translateRouteConfiguration(msg);
    return t.ok ? { ok: true, kind: 'rds', name, value: t.value } : { ok: false, name, errors: t.errors };
  }
  if (label === 'cds') {
    const t = translateCluster(msg);
    return t.ok ? { ok: true, kind: 'cds', name, value: t.value } : { ok: false, name, errors: t.errors };
  }
  const t = translateClusterLoadAssignment(msg);
  return t.ok ? { ok: true, kind: 'eds', name, value: t.value } : { ok: false, name, errors: t.errors };
}

function decode(any: AnyMessage, typeUrl: string): Obj {
  if (any.type_url === RESOURCE_WRAPPER) {
    // xds.config.resource-in-sotw: the resource wrapped in envoy.service.discovery.v3.Resource.
    const wrapper = messageType('envoy.service.discovery.v3.Resource').decode(any.value) as unknown as { resource?: AnyMessage };
    if (!wrapper.resource) throw new Error('empty Resource wrapper');
    return decode(wrapper.resource, typeUrl);
  }
  if (any.type_url !== typeUrl) throw new Error(`a ${any.type_url} in a ${typeUrl} response`);
  return unpackAny<Obj>(any);
}
