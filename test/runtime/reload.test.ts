import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { testPki, type TestPki } from '../helpers/pki.ts';
import { startUpstream, type TestUpstream } from '../helpers/upstream.ts';
import { basicConfig } from '../helpers/gateway.ts';
import { spawnGateway, writeConfig, type GatewayProcess } from '../helpers/process.ts';
import { h1 } from '../helpers/clients.ts';
import { eventually } from '../helpers/net.ts';

// Hot reload in a real process: a changed file and SIGHUP swap the config in; an invalid file is
// logged with its errors and the last good config keeps serving.

let pki: TestPki;
let up: TestUpstream;
let gw: GatewayProcess;
let cfg: Awaited<ReturnType<typeof writeConfig>>;

const pong = (body: string) => basicConfig(pki, { endpoint: up.address }).replace('body: "pong"', `body: "${body}"`);

before(async () => {
  pki = await testPki();
  up = await startUpstream();
  cfg = await writeConfig(pong('one'));
  gw = await spawnGateway(cfg.file);
});
after(async () => {
  await gw.kill('SIGTERM');
  await up.close();
});

test('a changed config file is picked up without a restart', async () => {
  assert.equal((await h1(pki, cfg.httpsPort, '/ping')).body, 'one');
  cfg.rewrite(pong('two'));
  await eventually(async () => (await h1(pki, cfg.httpsPort, '/ping')).body === 'two', 'the new config serves');
});

test('an invalid config is rejected with path: message and the last good one keeps serving', async () => {
  cfg.rewrite(pong('three').replace('timeout: 5s', 'timeout: soon').replace('connectTimeout: 1s', 'connectTimeout: 1s\n    bogusKey: 1'));
  await eventually(() => gw.stderr().includes('config rejected'), 'the rejection is logged');
  const log = gw.stderr();
  assert.match(log, /virtualHosts\[0\]\.routes\[1\]\.route\.timeout: /);
  assert.match(log, /clusters\[0\]\.bogusKey: unknown key/);
  assert.equal((await h1(pki, cfg.httpsPort, '/ping')).body, 'two', 'still the last good config');
  assert.equal((await h1(pki, cfg.httpsPort, '/proxied')).status, 200);
  const ready = await fetch(`http://127.0.0.1:${cfg.adminPort}/readyz`);
  assert.equal(ready.status, 200, 'a rejected reload does not make the gateway unready');
});

test('SIGHUP re-reads the file', async () => {
  cfg.rewrite(pong('four'));
  gw.child.kill('SIGHUP');
  await eventually(async () => (await h1(pki, cfg.httpsPort, '/ping')).body === 'four', 'SIGHUP reload serves');
});
