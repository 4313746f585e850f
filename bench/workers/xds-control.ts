import http from 'node:http';
import { TypeUrls, type AnyMessage } from '../../src/grpc/protos.ts';
import { envoyAny } from '../../test/helpers/envoy-json.ts';
import { TestXdsServer } from '../../test/helpers/xds-server.ts';
import { edsCluster, loadAssignment, routeConfiguration } from '../lib/xds-resources.ts';
import { argJson, emit, exitWithParent } from './common.ts';

// The xDS benchmarks' control side, in its own process: an ADS server (test/helpers/xds-server.ts),
// the upstream endpoints (groups v1, v2, v1b of `endpointsPerGroup` ports each, every one answering
// 64 bytes with `x-upstream-id: <group>`), and a small control API on loopback:
//   POST /push/<name>   pushes a version prepared at start (packed beforehand: a push is only a write)
// Versions: rds-<n> (weights and tag of version n), eds-v1b (v1's endpoints moved to group v1b).

interface Args {
  vhosts: number;
  perVhost: number;
  endpointsPerGroup: number;
  /** RouteConfiguration versions to prepare: version tag → weights. */
  rds: Record<string, { v1: number; v2: number }>;
}

const a = argJson<Args>();
const body = Buffer.alloc(64, 'x');

async function group(id: string): Promise<number[]> {
  const ports: number[] = [];
  for (let i = 0; i < a.endpointsPerGroup; i++) {
    const server = http.createServer((req, res) => {
      req.resume();
      res.writeHead(200, { 'content-type': 'text/plain', 'content-length': '64', 'x-upstream-id': id });
      res.end(body);
    });
    server.keepAliveTimeout = 120_000;
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    ports.push((server.address() as { port: number }).port);
  }
  return ports;
}

const groups = { v1: await group('v1'), v2: await group('v2'), v1b: await group('v1b') };
const xds = await new TestXdsServer().start();
const packed = new Map<string, { type: string; resources: Map<string, AnyMessage> }>();
for (const [version, weights] of Object.entries(a.rds)) {
  packed.set(`rds-${version}`, { type: TypeUrls.routeConfiguration, resources: new Map([['edge', envoyAny(TypeUrls.routeConfiguration, routeConfiguration({ vhosts: a.vhosts, perVhost: a.perVhost, version, weights }))]]) });
}
const cla = (name: string, ports: number[]) => envoyAny(TypeUrls.clusterLoadAssignment, loadAssignment(name, ports));
packed.set('eds-v1b', { type: TypeUrls.clusterLoadAssignment, resources: new Map([['v1', cla('v1', groups.v1b)], ['v2', cla('v2', groups.v2)]]) });

xds.set(TypeUrls.cluster, [edsCluster('v1'), edsCluster('v2')]);
xds.setPacked(TypeUrls.clusterLoadAssignment, new Map([['v1', cla('v1', groups.v1)], ['v2', cla('v2', groups.v2)]]));
const first = Object.keys(a.rds)[0]!;
xds.setPacked(TypeUrls.routeConfiguration, packed.get(`rds-${first}`)!.resources);

const control = http.createServer((req, res) => {
  const m = /^\/push\/([\w.-]+)$/.exec(req.url ?? '');
  const v = m ? packed.get(m[1]!) : undefined;
  if (req.method !== 'POST' || !v) {
    res.writeHead(404).end();
    return;
  }
  const version = xds.setPacked(v.type, v.resources);
  res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ version }));
});
await new Promise<void>((r) => control.listen(0, '127.0.0.1', r));
exitWithParent(() => void xds.close());
emit('listening', { xdsPort: xds.port, controlPort: (control.address() as { port: number }).port, endpoints: a.endpointsPerGroup * 2 });
