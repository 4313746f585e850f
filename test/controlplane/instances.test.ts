import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { startEtcd, type TestEtcd } from '../helpers/etcd.ts';
import { etcdSource, startControlPlane, type TestControlPlane } from '../helpers/control-plane.ts';
import { issue, testPki, type TestPki } from '../helpers/pki.ts';
import { ROOT } from '../helpers/process.ts';
import { eventually, freePort } from '../helpers/net.ts';
import { get, put } from './rest.ts';

// Real instance processes (the example's demo service, which registers itself and keeps its lease
// alive): killed, its lease lapses and it leaves the endpoint set; stopped, it deregisters.

let etcd: TestEtcd;
let cp: TestControlPlane;
let pki: TestPki;
const procs: ChildProcess[] = [];

before(async () => {
  [etcd, pki] = await Promise.all([startEtcd(), testPki()]);
  await issue(pki, 'hello', { dns: ['localhost'], ips: ['127.0.0.1'], spiffe: 'spiffe://mesh.local/ns/demo/sa/hello' });
  cp = await startControlPlane({ source: etcdSource(etcd.endpoint) });
  assert.equal((await put(cp.registry, 'hello', { namespace: 'demo', versions: [{ name: 'v1' }] })).status, 201);
});

after(async () => {
  for (const p of procs) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
  await cp?.close();
  await etcd?.close();
});

async function instance(port: number): Promise<ChildProcess> {
  const p = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'examples/control-plane/demo-service.ts'), '--service', 'hello', '--version', 'v1', '--port', String(port), '--registry', cp.registry, '--certs', pki.dir, '--ttl', '3'], {
    cwd: ROOT,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  procs.push(p);
  let err = '';
  p.stderr!.on('data', (d) => (err += d));
  await eventually(() => err.includes('registered (lease'), `instance on ${port} registered (log: ${err})`, 30_000);
  return p;
}

const live = async () => ((await get(cp.registry, '/services/hello')).body.instances.v1 ?? []).map((i: any) => i.address).sort();

test('a killed instance leaves the endpoint set when its lease lapses; a stopped one deregisters', async () => {
  const [p1, p2] = await Promise.all([freePort(), freePort()]);
  const [a, b] = await Promise.all([instance(p1), instance(p2)]);
  assert.deepEqual(await live(), [`127.0.0.1:${p1}`, `127.0.0.1:${p2}`].sort());
  a.kill('SIGKILL'); // no deregistration, no more keepalives
  const compiledPorts = async () =>
    ((await get(cp.registry, '/resources')).body.clusterLoadAssignments.find((c: any) => c.cluster_name === 'hello-v1')?.endpoints[0]?.lb_endpoints ?? []).map(
      (e: any) => e.endpoint.address.socket_address.port_value,
    );
  await eventually(async () => (await live()).join() === `127.0.0.1:${p2}`, 'the killed instance leaves within its lease TTL', 20_000);
  await eventually(async () => (await compiledPorts()).join() === String(p2), 'and the compiled endpoints (EDS) follow');
  b.kill('SIGTERM');
  await eventually(async () => (await live()).length === 0, 'the stopped instance deregistered');
});
