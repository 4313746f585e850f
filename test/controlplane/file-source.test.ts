import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import YAML from 'yaml';
import * as grpc from '@grpc/grpc-js';
import { testPki } from '../helpers/pki.ts';
import { TypeUrls } from '../../src/grpc/protos.ts';
import { startControlPlane, type TestControlPlane } from '../helpers/control-plane.ts';
import { adsClient, decode, type AdsTestClient } from '../helpers/ads-client.ts';
import { eventually } from '../helpers/net.ts';
import { call, exposedService, get, put } from './rest.ts';
import { testTempDir } from '../helpers/tmp.ts';

// `source: { file }`: the registry in one YAML file on a single machine, no etcd.

let dir: string;
let file: string;
let cp: TestControlPlane;
let gw: AdsTestClient;

before(async () => {
  dir = testTempDir('gatehouse-registry-');
  file = join(dir, 'resources.yaml');
  writeFileSync(
    file,
    `# the registry of a single machine
services:
  - name: web
    versions: [{ name: v1, endpoints: ["127.0.0.1:8001"] }]
    expose: [{ domains: [web.test], prefix: / }]
`,
  );
  cp = await startControlPlane({ source: `{ file: "${file}" }` });
  gw = adsClient(cp.xdsAddress, { id: 'gw-file', cluster: 'edge' });
});

after(async () => {
  gw?.close();
  await cp?.close();
  rmSync(dir, { recursive: true, force: true });
});

const domains = (res: Parameters<typeof decode>[0]) => decode(res)[0].virtual_hosts.map((v: any) => v.domains[0]).sort();

async function routesUntil(want: string[]): Promise<void> {
  for (;;) {
    const res = await gw.next(TypeUrls.routeConfiguration);
    gw.ack(res);
    if (domains(res).join() === want.join()) return;
  }
}

test('the file is served; API writes go to the file (with CAS); hand edits are picked up', async () => {
  gw.send({ type_url: TypeUrls.routeConfiguration, resource_names: ['gatehouse'] });
  await routesUntil(['web.test']);

  const created = await put(cp.registry, 'api', exposedService('api', 'api.test', [{ name: 'v1', endpoints: ['127.0.0.1:8002'] }]));
  assert.equal(created.status, 201);
  await routesUntil(['api.test', 'web.test']);
  const onDisk = YAML.parse(readFileSync(file, 'utf8'));
  assert.deepEqual(onDisk.services.map((s: any) => s.name), ['web', 'api']);
  const stale = await put(cp.registry, 'api', exposedService('api', 'api.test', [{ name: 'v1' }]), { 'if-match': '"1"' });
  assert.equal(stale.status, 409);

  // an engineer edits the file by hand
  onDisk.services = onDisk.services.filter((s: any) => s.name !== 'web');
  writeFileSync(file, YAML.stringify(onDisk));
  await routesUntil(['api.test']);
  assert.equal((await get(cp.registry, '/services/web')).status, 404);
});

test('a broken file keeps the last snapshot and says why; instances live in memory with their TTL', async () => {
  const good = readFileSync(file, 'utf8');
  writeFileSync(file, 'services: [ { name: api\n');
  await eventually(async () => (await get(cp.registry, '/status')).body.store.state === 'unreachable', 'the broken file reported');
  assert.match((await get(cp.registry, '/status')).body.store.error, /resources\.yaml/);
  assert.equal((await get(cp.registry, '/services/api')).status, 200, 'the last good registry stays');
  writeFileSync(file, good);
  await eventually(async () => (await get(cp.registry, '/status')).body.store.state === 'connected', 'the repaired file is used again');

  const reg = await call(cp.registry, 'POST', '/services/api/versions/v1/instances', { address: '127.0.0.1:8003', ttl: '2s' });
  assert.equal(reg.status, 201);
  assert.deepEqual((await get(cp.registry, '/services/api')).body.instances.v1.map((i: any) => i.address), ['127.0.0.1:8003']);
  assert.equal((await call(cp.registry, 'POST', '/services/api/versions/v1/instances/127.0.0.1:8003/keepalive')).status, 200);
  await eventually(async () => (await get(cp.registry, '/services/api')).body.instances.v1 === undefined, 'the lease lapses', 15_000);
  assert.doesNotMatch(readFileSync(file, 'utf8'), /8003/, 'instances are not written to the file');
});

test('the ADS server over mutual TLS: a client with a certificate from the CA is served, one without is refused', async () => {
  const pki = await testPki();
  const secured = await startControlPlane({
    source: `{ file: "${file}" }`,
    xdsTls: `{ certFile: "${pki.file('upstream.crt')}", keyFile: "${pki.file('upstream.key')}", caFile: "${pki.file('ca.crt')}" }`,
  });
  const clients: AdsTestClient[] = [];
  try {
    const creds = grpc.credentials.createSsl(pki.read('ca.crt'), pki.read('gatehouse.key'), pki.read('gatehouse.crt'));
    const good = adsClient(secured.xdsAddress, { id: 'gw-tls', cluster: 'edge' }, creds, { 'grpc.ssl_target_name_override': 'localhost' });
    clients.push(good);
    good.send({ type_url: TypeUrls.routeConfiguration, resource_names: ['gatehouse'] });
    assert.ok(domains(await good.next(TypeUrls.routeConfiguration)).length > 0);
    const anonymous = adsClient(secured.xdsAddress, { id: 'gw-anon', cluster: 'edge' }, grpc.credentials.createSsl(pki.read('ca.crt')), { 'grpc.ssl_target_name_override': 'localhost' });
    clients.push(anonymous);
    anonymous.send({ type_url: TypeUrls.routeConfiguration, resource_names: ['gatehouse'] });
    await assert.rejects(anonymous.next(TypeUrls.routeConfiguration, 15_000));
  } finally {
    for (const c of clients) c.close();
    await secured.close();
  }
});
