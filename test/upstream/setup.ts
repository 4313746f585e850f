import type { ClusterSummary } from '../../src/upstream/cluster.ts';
import { gatewayPreamble } from '../helpers/gateway.ts';
import type { TestPki } from '../helpers/pki.ts';
import type { TestGateway } from '../helpers/gateway.ts';
import { h1, type Reply } from '../helpers/clients.ts';
import type { Handler } from '../helpers/upstream.ts';

// Shared bits of the upstream tests: a gateway config whose routes go to the given clusters,
// admin reads, and small upstream handlers.

export interface MeshRoute {
  prefix: string;
  cluster: string;
}

/** One TLS listener; `routes` by prefix (default: everything → `backend`); `clusters` is YAML list items. */
export function meshConfig(pki: TestPki, clusters: string, o: { routes?: MeshRoute[]; top?: string } = {}): string {
  const routes = (o.routes ?? [{ prefix: '/', cluster: 'backend' }])
    .map((r, i) => `      - { name: r${i}, match: { prefix: "${r.prefix}" }, route: { cluster: ${r.cluster}, timeout: 10s } }`)
    .join('\n');
  return `
${gatewayPreamble(pki)}
      minVersion: TLSv1.2
virtualHosts:
  - name: main
    domains: ["*"]
    routes:
${routes}
clusters:
${clusters}
${o.top ?? ''}
`;
}

/** What admin /clusters says about one cluster (the shape `Cluster.summary()` produces). */
export type ClusterView = ClusterSummary;
export type EndpointView = ClusterSummary['endpoints'][number];

export async function clusterState(gw: TestGateway, name = 'backend'): Promise<ClusterView> {
  const r = await fetch(`http://127.0.0.1:${gw.adminPort}/clusters`);
  const body = (await r.json()) as { clusters: ClusterView[] };
  const c = body.clusters.find((x) => x.name === name);
  if (!c) throw new Error(`no cluster ${name} in /clusters`);
  return c;
}

export async function endpointState(gw: TestGateway, address: string, cluster = 'backend'): Promise<EndpointView | undefined> {
  return (await clusterState(gw, cluster)).endpoints.find((e) => e.address === address);
}

/** The value of one metric sample (labels as written in the exposition, e.g. `cluster="backend"`), or 0. */
export async function metricValue(gw: TestGateway, name: string, labels: string): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${gw.adminPort}/metrics`)).text();
  for (const line of text.split('\n')) {
    if (!line.startsWith(name + '{')) continue;
    const close = line.indexOf('}');
    const ls = line.slice(name.length + 1, close);
    if (labels.split(',').every((l) => ls.includes(l))) return Number(line.slice(close + 1).trim());
  }
  return 0;
}

export function get(pki: TestPki, gw: TestGateway, path = '/', headers: Record<string, string> = {}): Promise<Reply> {
  return h1(pki, gw.httpsPort, path, { headers });
}

/** Answers `status` with its name in `x-upstream` and the body; `/healthz` answers `health()`. */
export function named(name: string, status: () => number = () => 200, health: () => number = () => 200): Handler {
  return (req, res) => {
    req.resume();
    req.on('end', () => {
      const s = req.url === '/healthz' ? health() : status();
      res.writeHead(s, { 'x-upstream': name, 'content-type': 'text/plain' });
      res.end(`${name} ${s}`);
    });
  };
}
