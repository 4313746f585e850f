// Envoy resources of the xDS benchmarks (Envoy JSON, packed by the control worker), at scale:
//   RouteConfiguration `edge`: `vhosts` virtual hosts × `perVhost` routes (vh-<n>.xds.bench), every
//   route tagged with the version in a response header, and on the target virtual host a canary
//   route with weighted clusters v1/v2 — the push under test changes the weights and the tag;
//   Clusters v1, v2 (and v1b): EDS; ClusterLoadAssignments with the upstream ports of each group.

export const TARGET_VHOST = 77;
export const TARGET_HOST = 'vh-77.xds.bench';
export const TARGET_PATH = '/canary/item';
export const VERSION_HEADER = 'x-bench-version';

type Json = Record<string, unknown>;

export function routeConfiguration(o: { vhosts: number; perVhost: number; version: string; weights: { v1: number; v2: number } }): Json {
  const tag = [{ header: { key: VERSION_HEADER, value: o.version }, append_action: 'OVERWRITE_IF_EXISTS_OR_ADD' }];
  const hosts: Json[] = [];
  for (let v = 0; v < o.vhosts; v++) {
    const routes: Json[] = [];
    if (v === TARGET_VHOST) {
      routes.push({
        name: 'canary',
        match: { prefix: '/canary/' },
        route: { weighted_clusters: { clusters: [{ name: 'v1', weight: o.weights.v1 }, { name: 'v2', weight: o.weights.v2 }] }, timeout: '5s' },
        response_headers_to_add: tag,
      });
    }
    while (routes.length < o.perVhost) {
      const i = routes.length;
      routes.push({
        name: `r${i}`,
        match: { prefix: `/api/v${i}/`, headers: [{ name: 'x-env', string_match: { exact: 'prod' } }] },
        route: { cluster: 'v1', timeout: '5s' },
        response_headers_to_add: tag,
      });
    }
    hosts.push({ name: `vh-${v}`, domains: [`vh-${v}.xds.bench`], routes });
  }
  // A catch-all host: the harness's readiness probe (GET / on any host).
  hosts.push({ name: 'any', domains: ['*'], routes: [{ name: 'all', match: { prefix: '/' }, route: { cluster: 'v1', timeout: '5s' }, response_headers_to_add: tag }] });
  return { name: 'edge', virtual_hosts: hosts };
}

export function edsCluster(name: string): Json {
  return { name, type: 'EDS', eds_cluster_config: { eds_config: { ads: {} } }, connect_timeout: '2s' };
}

export function loadAssignment(name: string, ports: readonly number[]): Json {
  return {
    cluster_name: name,
    endpoints: [{ lb_endpoints: ports.map((port_value) => ({ endpoint: { address: { socket_address: { address: '127.0.0.1', port_value } } } })) }],
  };
}
