import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { testPki, type TestPki } from '../helpers/pki.ts';
import { startUpstream, type TestUpstream } from '../helpers/upstream.ts';
import { startGateway, basicConfig, type TestGateway } from '../helpers/gateway.ts';
import { h1, h2 } from '../helpers/clients.ts';

let pki: TestPki;
let up: TestUpstream;
let gw: TestGateway;

before(async () => {
  pki = await testPki();
  up = await startUpstream({ tls: { pki } });
  gw = await startGateway(basicConfig(pki, { endpoint: up.address, tlsCluster: true }));
});
after(async () => {
  await gw.close();
  await up.close();
});

test('HTTP/1.1 over TLS reaches the mTLS upstream with forwarding headers', async () => {
  const r = await h1(pki, gw.httpsPort, '/a/b?q=1', { headers: { 'x-request-id': 'client-id-1', connection: 'keep-alive, x-hop', 'x-hop': 'drop-me' } });
  assert.equal(r.status, 200);
  assert.equal(r.alpn, 'http/1.1');
  const seen = JSON.parse(r.body);
  assert.equal(seen.url, '/a/b?q=1');
  assert.equal(seen.headers['x-forwarded-proto'], 'https');
  assert.equal(seen.headers['x-forwarded-for'], '127.0.0.1');
  assert.equal(seen.headers['x-forwarded-host'], `localhost:${gw.httpsPort}`);
  assert.equal(seen.headers['x-request-id'], 'client-id-1');
  assert.equal(seen.headers['x-hop'], undefined, 'a header named by Connection is hop-by-hop');
  assert.match(up.seen.at(-1)!.peerSan ?? '', /spiffe:\/\/mesh\.local\/ns\/edge\/sa\/gatehouse/);
});

test('HTTP/2 over TLS is proxied too', async () => {
  const r = await h2(pki, gw.httpsPort, '/h2?x=y', { headers: { 'x-request-id': 'bad id with spaces' } });
  assert.equal(r.status, 200);
  assert.equal(r.alpn, 'h2');
  const seen = JSON.parse(r.body);
  assert.equal(seen.url, '/h2?x=y');
  assert.equal(seen.headers.host, `localhost:${gw.httpsPort}`);
  assert.match(seen.headers['x-request-id'], /^[0-9a-f]{32}$/, 'a malformed request id is replaced');
});

test('direct response and no-route answers', async () => {
  const r = await h1(pki, gw.httpsPort, '/ping');
  assert.equal(r.status, 200);
  assert.equal(r.body, 'pong');
  assert.ok(r.headers['x-request-id']);
});
