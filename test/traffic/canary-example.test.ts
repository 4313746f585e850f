import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { testPki, type TestPki } from '../helpers/pki.ts';
import type { TestUpstream } from '../helpers/upstream.ts';
import { startGateway, type TestGateway } from '../helpers/gateway.ts';
import { h1 } from '../helpers/clients.ts';
import { idUpstream } from '../helpers/traffic.ts';
import { loadConfigText } from '../../src/config/load.ts';

// config/examples/canary.yaml is valid, and does what its comments say, served by the real gateway.

let pki: TestPki;
let ups: TestUpstream[];
let gw: TestGateway;

function exampleFor(pki: TestPki, endpoints: string[]): string {
  return readFileSync(new URL('../../config/examples/canary.yaml', import.meta.url), 'utf8')
    .replaceAll('certs/', `${pki.dir}/`)
    .replace('127.0.0.1:8443', '127.0.0.1:{{https}}')
    .replace('127.0.0.1:9901', '127.0.0.1:{{admin}}')
    .replace('127.0.0.1:9001', endpoints[0])
    .replace('127.0.0.1:9002', endpoints[1])
    .replace('127.0.0.1:9003', endpoints[2]);
}

before(async () => {
  pki = await testPki();
  ups = await Promise.all([idUpstream('v1'), idUpstream('v2'), idUpstream('shadow')]);
  gw = await startGateway(exampleFor(pki, ups.map((u) => u.address)));
});
after(async () => {
  await gw.close();
  await Promise.all(ups.map((u) => u.close()));
});

test('the canary example validates as written (with development certificates in place)', async () => {
  const text = exampleFor(pki, ['127.0.0.1:9001', '127.0.0.1:9002', '127.0.0.1:9003']).replaceAll('{{https}}', '8443').replaceAll('{{admin}}', '9901');
  const r = await loadConfigText(text);
  assert.equal(r.ok, true, JSON.stringify(!r.ok && r.errors));
});

test('x-canary: true overrides the split; others follow it and keep their version', async () => {
  for (let i = 0; i < 5; i++) {
    const r = await h1(pki, gw.httpsPort, '/checkout/pay', { headers: { 'x-canary': 'true' } });
    assert.equal(r.status, 200);
    assert.equal(JSON.parse(r.body).id, 'v2');
    assert.equal(JSON.parse(r.body).url, '/pay');
    assert.equal(r.headers['x-checkout-version'], 'v2');
  }
  const first = await h1(pki, gw.httpsPort, '/checkout/pay', { headers: { cookie: 'session=alice' } });
  const body = JSON.parse(first.body);
  assert.equal(body.headers['x-edge-route'], 'checkout');
  assert.equal(first.headers['x-served-by'], `checkout-${body.id}`);
  for (let i = 0; i < 5; i++) {
    const again = await h1(pki, gw.httpsPort, '/checkout/pay', { headers: { cookie: 'session=alice' } });
    assert.equal(JSON.parse(again.body).id, body.id, 'alice stays on her version');
  }
});
