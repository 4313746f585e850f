import { TypeUrls } from '../../src/grpc/protos.ts';
import { gatewayPreamble } from './gateway.ts';
import type { TestPki } from './pki.ts';

// Envoy resources for tests, in Envoy's JSON shape (the xDS server packs them): short builders for
// what most tests need, and the gateway config head that points at a test xDS server.

export const RDS = TypeUrls.routeConfiguration;
export const CDS = TypeUrls.cluster;
export const EDS = TypeUrls.clusterLoadAssignment;

type Json = Record<string, unknown>;

/** A RouteConfiguration with one virtual host (`domains`, default `*`) and these routes. */
export function routeConfig(name: string, routes: Json[], o: { vhost?: string; domains?: string[] } = {}): Json {
  return { name, virtual_hosts: [{ name: o.vhost ?? `${name}-vh`, domains: o.domains ?? ['*'], routes }] };
}

/** A route on `prefix` to one cluster, or to weighted clusters when `to` is a record. */
export function routeTo(prefix: string, to: string | Record<string, number>, extra: Json = {}): Json {
  const action = typeof to === 'string' ? { cluster: to } : { weighted_clusters: { clusters: Object.entries(to).map(([name, weight]) => ({ name, weight })) } };
  return { name: `to-${typeof to === 'string' ? to : Object.keys(to).join('-')}${prefix.replace(/\//g, '_')}`, match: { prefix }, route: { ...action, timeout: '5s', ...extra } };
}

/** An EDS cluster over ADS. */
export function edsCluster(name: string, extra: Json = {}): Json {
  return { name, type: 'EDS', eds_cluster_config: { eds_config: { ads: {} } }, connect_timeout: '1s', ...extra };
}

export interface EndpointSpec {
  address: string; // host:port
  weight?: number;
  priority?: number;
  health?: string;
}

/** A ClusterLoadAssignment: endpoints grouped by priority. */
export function loadAssignment(name: string, endpoints: ReadonlyArray<string | EndpointSpec>): Json {
  const byPriority = new Map<number, Json[]>();
  for (const e of endpoints) {
    const spec = typeof e === 'string' ? { address: e } : e;
    const at = spec.address.lastIndexOf(':');
    const lb: Json = {
      endpoint: { address: { socket_address: { address: spec.address.slice(0, at), port_value: Number(spec.address.slice(at + 1)) } } },
      ...(spec.weight !== undefined ? { load_balancing_weight: spec.weight } : {}),
      ...(spec.health ? { health_status: spec.health } : {}),
    };
    const p = spec.priority ?? 0;
    byPriority.set(p, [...(byPriority.get(p) ?? []), lb]);
  }
  return { cluster_name: name, endpoints: [...byPriority].map(([priority, lb_endpoints]) => ({ priority, lb_endpoints })) };
}

/** The preamble (one TLS listener, admin) plus an `xds` block for `server`; `extra` is more top-level YAML. */
export function xdsGatewayConfig(pki: TestPki, server: string, o: { routeConfigs?: string[]; initialFetchTimeout?: string; extra?: string } = {}): string {
  return `${gatewayPreamble(pki)}
xds:
  server: "${server}"
  node: { id: gatehouse-test, cluster: edge }
  routeConfigs: [${(o.routeConfigs ?? ['edge']).join(', ')}]
  initialFetchTimeout: ${o.initialFetchTimeout ?? '5s'}
${o.extra ?? ''}
`;
}
