import { normalizePath } from '../../src/router/normalize-path.ts';
import { HostTable, hostWithoutPort } from '../../src/router/host-table.ts';
import { compileVirtualHost } from '../../src/router/compile.ts';
import { RouteInput } from '../../src/router/match.ts';
import type { ConfigError } from '../../src/config/load.ts';
import { gatewayConfigSchema } from '../../src/config/schema.ts';
import YAML from 'yaml';
import type { Cluster } from '../../src/upstream/cluster.ts';
import type { IncomingHttpHeaders } from 'node:http';
import { TARGET_PATH, TARGET_VHOST, vhostDomain, vhostsYaml } from '../lib/route-table.ts';
import type { MicroCase, MicroSuite } from '../micro.ts';

// Per-request pure functions on the routing path, and route lookup (issue 3: "a structure that does
// not slow down as routes grow"): Host lookup + vhost.match() for the benchmark request of
// bench/scenarios/routing.ts (the LAST of its virtual host's 10 routes) with 10 routes in 1 virtual
// host vs 10,000 routes in 1,000 virtual hosts (the same tables as the load scenarios); plus two
// single-host tables of 10,000 routes: distinct first segments (the index's case) and one shared
// first segment (every route a candidate: the index cannot help, the cost is a scan).

function configYaml(vhostsYamlText: string): string {
  return `listeners:
  - name: public
    address: "127.0.0.1:18443"
    tls: { certificates: [{ certFile: /nonexistent/edge.crt, keyFile: /nonexistent/edge.key }] }
virtualHosts:
${vhostsYamlText}clusters:
  - { name: upstream, discovery: { type: static, endpoints: ["127.0.0.1:9"] } }
`;
}

async function compileTable(vhostsYamlText: string): Promise<HostTable> {
  // The schema alone (defaults filled in): no certificate file is read, nothing is listened on.
  const parsed = gatewayConfigSchema.safeParse(YAML.parse(configYaml(vhostsYamlText)));
  if (!parsed.success) throw new Error(parsed.error.message);
  const loaded = { config: parsed.data };
  // Route actions only hold their cluster: a stand-in is enough to match (nothing is forwarded).
  const clusters = new Map([['upstream', { name: 'upstream' } as unknown as Cluster]]);
  const errors: ConfigError[] = [];
  const hosts = new HostTable();
  for (const [i, vh] of loaded.config.virtualHosts.entries()) {
    const c = compileVirtualHost(vh, `virtualHosts[${i}]`, clusters, 15_000, errors);
    for (const d of vh.domains) hosts.add(d, c);
  }
  if (errors.length) throw new Error(errors.map((e) => `${e.path}: ${e.message}`).join('; '));
  return hosts;
}

function oneHost(name: string, routes: (k: number) => string, n: number): string {
  const out = [`  - name: ${name}`, `    domains: ["${name}.bench.test"]`, `    routes:`];
  for (let k = 0; k < n; k++) out.push(`      - { name: r${k}, match: ${routes(k)}, route: { cluster: upstream } }`);
  return out.join('\n') + '\n';
}

const N = 10_000;
const [small, large, distinct, shared] = await Promise.all([
  compileTable(vhostsYaml(1)),
  compileTable(vhostsYaml(1000)),
  compileTable(oneHost('distinct', (k) => `{ prefix: /svc-${k}/ }`, N)),
  compileTable(oneHost('shared', (k) => `{ prefix: /api/r${k}/ }`, N)),
]);

const headers = (host: string): IncomingHttpHeaders => ({ host, 'user-agent': 'bench', accept: '*/*' });
function lookupAndMatch(hosts: HostTable, host: string, path: string, want: string): MicroCase['fn'] {
  const h = headers(host);
  const check = hosts.lookup(host)?.match(new RouteInput(path, 'GET', h, ''));
  if (check?.name !== want) throw new Error(`router micro: ${host}${path} matched ${check?.name ?? 'nothing'}, want ${want}`);
  return () => hosts.lookup(host)!.match(new RouteInput(path, 'GET', h, ''));
}

const target = vhostDomain(TARGET_VHOST);

export const suite: MicroSuite = {
  name: 'router',
  cases: [
    { name: 'normalizePath, clean path (fast path)', fn: () => normalizePath('/api/v1/users/42/orders') },
    { name: 'normalizePath, dot segments and escapes', fn: () => normalizePath('/api//v1/./users/%7Ebob/../42/%2e%2e/orders') },
    { name: 'hostWithoutPort, name:port', fn: () => hostWithoutPort('API.Example.com:8443') },
    { name: 'lookup+match, 10 routes (1 vhost), last route', fn: lookupAndMatch(small, target, TARGET_PATH, 'catalog') },
    { name: 'lookup+match, 10,000 routes (1,000 vhosts), last route of its vhost', fn: lookupAndMatch(large, target, TARGET_PATH, 'catalog') },
    { name: 'lookup+match, 10,000 routes in 1 vhost, distinct first segments, last route', fn: lookupAndMatch(distinct, 'distinct.bench.test', `/svc-${N - 1}/x`, `r${N - 1}`) },
    { name: 'lookup+match, 10,000 routes in 1 vhost, one shared first segment, last route', fn: lookupAndMatch(shared, 'shared.bench.test', `/api/r${N - 1}/x`, `r${N - 1}`) },
  ],
};
