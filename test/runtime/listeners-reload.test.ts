import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { testPki, type TestPki } from '../helpers/pki.ts';
import { startUpstream, type TestUpstream } from '../helpers/upstream.ts';
import { startGateway, basicConfig, type TestGateway } from '../helpers/gateway.ts';
import { h1 } from '../helpers/clients.ts';

// Listeners follow the config on reload: one added is opened, one removed is closed, and a port
// that cannot be bound rejects the reload while the last good config keeps serving.

let pki: TestPki;
let up: TestUpstream;
let gw: TestGateway;

const plain = (port: string) => `  - { name: plain, address: "127.0.0.1:${port}", redirectToHttps: true }`;
const status = (port: number) =>
  new Promise<number>((resolve) =>
    http.get({ host: '127.0.0.1', port, path: '/x', headers: { host: 'localhost' } }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    }).on('error', () => resolve(0)),
  );

before(async () => {
  pki = await testPki();
  up = await startUpstream();
  gw = await startGateway(basicConfig(pki, { endpoint: up.address }));
});
after(async () => {
  await gw.close();
  await up.close();
});

test('a listener added by a reload is opened, and closed when removed again', async () => {
  assert.equal(await status(gw.httpPort), 0, 'nothing listens on the plain port yet');
  gw.rewrite(basicConfig(pki, { endpoint: up.address, extraListener: plain('{{http}}') }));
  assert.deepEqual(await gw.gw.reload('test'), { ok: true, version: 2 });
  assert.equal(await status(gw.httpPort), 308);

  gw.rewrite(basicConfig(pki, { endpoint: up.address }));
  assert.equal((await gw.gw.reload('test')).ok, true);
  assert.equal(await status(gw.httpPort), 0, 'the removed listener stopped accepting');
  assert.equal((await h1(pki, gw.httpsPort, '/ping')).status, 200);
});

test('a reload whose new listener cannot bind its port is rejected; the last good config serves', async () => {
  const squatter = net.createServer();
  await new Promise<void>((r) => squatter.listen(0, '127.0.0.1', () => r()));
  const taken = (squatter.address() as net.AddressInfo).port;
  try {
    gw.rewrite(basicConfig(pki, { endpoint: up.address, extraListener: plain(String(taken)) }).replace('body: "pong"', 'body: "new"'));
    const r = await gw.gw.reload('test');
    assert.equal(r.ok, false);
    if (!r.ok) assert.deepEqual(r.errors, [`listeners[1].address: cannot listen on 127.0.0.1:${taken}: EADDRINUSE`]);
    const ping = await h1(pki, gw.httpsPort, '/ping');
    assert.equal(ping.body, 'pong', 'still the last good config');
  } finally {
    squatter.close();
  }
});
