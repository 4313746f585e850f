import { isIP } from 'node:net';
import type { EndpointAddress } from '../../upstream/cluster.ts';
import { fail, isObj, join, NOT_SUPPORTED, refuseOthers, wrapped, type Errors, type FieldError, type Obj } from './fields.ts';
import type { Translation } from './route.ts';

// ClusterLoadAssignment (EDS, and the load_assignment of STATIC / STRICT_DNS clusters) → endpoint
// addresses for Cluster.setEndpoints: each lb_endpoint's socket address, its load_balancing_weight
// (default 1) and its locality's priority (the cluster serves the lowest priority that has a live
// endpoint). Endpoints whose health_status is UNHEALTHY, DRAINING or TIMEOUT are left out (Envoy
// sends them no traffic); HEALTHY, UNKNOWN and DEGRADED serve. Locality weights and the
// overprovisioning factor are not used (docs/xds.md).

export interface EndpointsFragment {
  readonly name: string;
  readonly endpoints: readonly EndpointAddress[];
}

const NO_TRAFFIC = new Set(['UNHEALTHY', 'DRAINING', 'TIMEOUT']);

export function translateClusterLoadAssignment(cla: Obj): Translation<EndpointsFragment> {
  const errors: Errors = [];
  const endpoints = loadAssignment(cla, '', errors, { hostnames: false });
  if (errors.length > 0) return { ok: false, errors };
  return { ok: true, value: { name: String(cla.cluster_name ?? ''), endpoints } };
}

/** The endpoints of a ClusterLoadAssignment; `hostnames: true` accepts DNS names (STRICT_DNS), else IPs only. */
export function loadAssignment(cla: Obj, path: string, errors: FieldError[], o: { hostnames: boolean }): EndpointAddress[] {
  refuseOthers(cla, 'envoy.config.endpoint.v3.ClusterLoadAssignment', ['cluster_name', 'endpoints', 'policy'], [], path, errors);
  if (isObj(cla.policy)) {
    refuseOthers(cla.policy, 'envoy.config.endpoint.v3.ClusterLoadAssignment.Policy', [], ['overprovisioning_factor', 'endpoint_stale_after', 'weighted_priority_health'], join(path, 'policy'), errors);
  }
  const out: EndpointAddress[] = [];
  for (const [i, loc] of (Array.isArray(cla.endpoints) ? cla.endpoints : []).entries()) {
    if (!isObj(loc)) continue;
    const lp = join(join(path, 'endpoints'), i);
    refuseOthers(loc, 'envoy.config.endpoint.v3.LocalityLbEndpoints', ['lb_endpoints', 'priority'], ['locality', 'load_balancing_weight', 'proximity', 'metadata'], lp, errors);
    const priority = Number(loc.priority ?? 0);
    for (const [j, lb] of (Array.isArray(loc.lb_endpoints) ? loc.lb_endpoints : []).entries()) {
      if (!isObj(lb)) continue;
      const e = lbEndpoint(lb, join(join(lp, 'lb_endpoints'), j), errors, o, priority);
      if (e) out.push(e);
    }
  }
  return out;
}

function lbEndpoint(lb: Obj, path: string, errors: Errors, o: { hostnames: boolean }, priority: number): EndpointAddress | null {
  refuseOthers(lb, 'envoy.config.endpoint.v3.LbEndpoint', ['endpoint', 'health_status', 'load_balancing_weight'], ['metadata'], path, errors);
  if (lb.host_identifier !== 'endpoint' || !isObj(lb.endpoint)) return fail(errors, join(path, String(lb.host_identifier ?? 'endpoint')), 'an endpoint with an address is required (named endpoints are not supported)');
  const ep = lb.endpoint;
  const epPath = join(path, 'endpoint');
  refuseOthers(ep, 'envoy.config.endpoint.v3.Endpoint', ['address', 'hostname'], ['health_check_config'], epPath, errors);
  const addr = socketAddress(ep.address, join(epPath, 'address'), errors, o);
  if (addr === null) return null;
  if (NO_TRAFFIC.has(String(lb.health_status))) return null;
  const weight = wrapped<number>(lb.load_balancing_weight) ?? 1;
  if (weight < 1) return fail(errors, join(path, 'load_balancing_weight'), 'must be at least 1');
  const hostname = String(ep.hostname ?? '');
  return {
    host: addr.host,
    port: addr.port,
    weight,
    priority,
    ...(hostname !== '' ? { hostname } : isIP(addr.host) === 0 ? { hostname: addr.host } : {}),
  };
}

export function socketAddress(a: unknown, path: string, errors: Errors, o: { hostnames: boolean }): { host: string; port: number } | null {
  if (!isObj(a) || a.address !== 'socket_address' || !isObj(a.socket_address)) return fail(errors, path, 'a socket_address is required (pipes and internal addresses are not supported)');
  const s = a.socket_address;
  const sp = join(path, 'socket_address');
  refuseOthers(s, 'envoy.config.core.v3.SocketAddress', ['address', 'port_value', 'protocol'], ['ipv4_compat'], sp, errors);
  if (s.protocol !== 'TCP') return fail(errors, join(sp, 'protocol'), `${String(s.protocol)} is ${NOT_SUPPORTED}`);
  if (s.port_specifier !== 'port_value') return fail(errors, join(sp, 'port_value'), 'a port number is required (named ports are not supported)');
  const host = String(s.address ?? '');
  const port = Number(s.port_value);
  if (port < 1 || port > 65535) return fail(errors, join(sp, 'port_value'), 'must be between 1 and 65535');
  if (!o.hostnames && isIP(host) === 0) return fail(errors, join(sp, 'address'), `"${host}" is not an IP address`);
  if (host === '') return fail(errors, join(sp, 'address'), 'required');
  return { host, port };
}
