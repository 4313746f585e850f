import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { TypeUrls } from '../../src/grpc/protos.ts';
import { runCli } from '../helpers/process.ts';
import { startEtcd, type TestEtcd } from '../helpers/etcd.ts';
import { etcdSource, spawnControlPlane, type ControlPlaneProcess } from '../helpers/control-plane.ts';
import { adsClient, decode } from '../helpers/ads-client.ts';
import { eventually } from '../helpers/net.ts';
import { exposedService, put } from './rest.ts';
import { testTempDir } from '../helpers/tmp.ts';

// `gatehouse control-plane --config FILE` as a real process.

let etcd: TestEtcd;
let proc: ControlPlaneProcess | null = null;

before(async () => {
  etcd = await startEtcd();
});

after(async () => {
  await proc?.kill('SIGKILL');
  await etcd?.close();
});

test('a bad config: every error as path: message, exit 1', async () => {
  const file = join(testTempDir('gatehouse-cp-'), 'cp.yaml');
  writeFileSync(file, 'xds: { address: "127.0.0.1:99999" }\nsource: {}\nregistry: { address: "10.1.2.3:9903" }\n');
  const r = await runCli(['control-plane', '--config', file]);
  assert.equal(r.code, 1);
  assert.deepEqual(r.stderr.trim().split('\n').sort(), [
    'registry.token: required when registry.address is not a loopback address',
    'source: exactly one of etcd, file is required',
    'xds.address: port must be between 1 and 65535',
  ]);
  const usage = await runCli(['control-plane']);
  assert.equal(usage.code, 2);
  assert.match(usage.stderr, /usage: gatehouse control-plane --config FILE/);
});

test('serves ADS and the registry, logs NACKs, and stops on SIGTERM with exit 0', async () => {
  proc = await spawnControlPlane({ source: etcdSource(etcd.endpoint) });
  assert.equal((await put(proc.registry, 'web', exposedService('web', 'web.test', [{ name: 'v1', endpoints: ['10.0.0.1:443'] }]))).status, 201);
  const gw = adsClient(proc.xdsAddress, { id: 'gw-cli', cluster: 'edge' });
  try {
    gw.send({ type_url: TypeUrls.routeConfiguration, resource_names: ['gatehouse'] });
    const res = await gw.next(TypeUrls.routeConfiguration);
    assert.equal(decode(res)[0].virtual_hosts[0].domains[0], 'web.test');
    gw.send({ type_url: TypeUrls.routeConfiguration, resource_names: ['gatehouse'], response_nonce: res.nonce, error_detail: { code: 3, message: 'route web/0: cannot use this' } });
    await eventually(() => proc!.stderr().includes('"msg":"xDS NACK"'), 'the NACK in the log');
    assert.match(proc.stderr(), /"node":"gw-cli".*"error":"route web\/0: cannot use this"/);
  } finally {
    gw.close();
  }
  assert.equal(await proc.kill('SIGTERM'), 0);
  proc = null;
});
