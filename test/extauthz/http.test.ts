import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { testPki, type TestPki } from '../helpers/pki.ts';
import { startUpstream, type TestUpstream } from '../helpers/upstream.ts';
import { startGateway, type TestGateway, gatewayPreamble } from '../helpers/gateway.ts';
import { h1, h2 } from '../helpers/clients.ts';
import { freePort } from '../helpers/net.ts';
import { startGarbageServer, startHttpAuthz, type TestHttpAuthz } from '../helpers/ext-authz.ts';

// ext_authz's HTTP form (Envoy HTTP service / Traefik forwardAuth style) through a real gateway and a
// real HTTP authorization server: what is sent (method, path appended to the url's, only the listed
// headers, X-Forwarded-*), 2xx allows with headersFromServer toward the upstream, anything else denies
// with that status, headers and body; down, slow and garbage answers are 403 ext_authz_error.

let pki: TestPki;
let up: TestUpstream;
let authz: TestHttpAuthz;
let garbage: Awaited<ReturnType<typeof startGarbageServer>>;
let gw: TestGateway;

before(async () => {
  pki = await testPki();
  up = await startUpstream();
  authz = await startHttpAuthz();
  garbage = await startGarbageServer();
  const dead = await freePort();
  const http = (url: string, extra = '') =>
    `http: { url: "${url}", headersToServer: [authorization, X-Partner-Key], headersFromServer: [x-partner-id, x-tier] }, timeout: 2s${extra}`;
  gw = await startGateway(`
${gatewayPreamble(pki)}
virtualHosts:
  - name: main
    domains: ["*"]
    extAuthz: { ${http(`${authz.url}/check`)} }
    routes:
      - { name: body, match: { prefix: /upload }, extAuthz: { ${http(`${authz.url}/check`, ', withRequestBody: { maxBytes: 8 }')} }, route: { cluster: backend } }
      - { name: down, match: { prefix: /down }, extAuthz: { ${http(`http://127.0.0.1:${dead}`)} }, route: { cluster: backend } }
      - { name: garbage, match: { prefix: /garbage }, extAuthz: { ${http(`http://${garbage.address}`)} }, route: { cluster: backend } }
      - { name: slow, match: { prefix: /slow }, extAuthz: { http: { url: "${authz.url}" }, timeout: 100ms }, route: { cluster: backend } }
      - { name: slow-open, match: { prefix: /open-slow }, extAuthz: { http: { url: "${authz.url}" }, timeout: 100ms, failureModeAllow: true }, route: { cluster: backend } }
      - { name: all, match: { prefix: / }, route: { cluster: backend } }
clusters:
  - name: backend
    discovery: { type: static, endpoints: ["${up.address}"] }
`);
});

after(async () => {
  await gw.close();
  await authz.stop();
  await garbage.stop();
  await up.close();
});

test('allowed: the service gets the method, the path and query under its url, only the listed headers and X-Forwarded-*; 2xx copies headersFromServer upstream', async () => {
  authz.answer = (_req, res) => {
    res.writeHead(200, { 'x-partner-id': 'p-42', 'x-other': 'not-copied', 'x-envoy-auth-headers-to-remove': 'x-partner-key, x-drop-me' });
    res.end('ignored body');
  };
  const before = authz.seen.length;
  for (const client of [h1, h2]) {
    const r = await client(pki, gw.httpsPort, '/orders/7?expand=1', {
      method: 'DELETE',
      headers: { authorization: 'Bearer abc', 'x-partner-key': 'k1', cookie: 'session=s', 'x-partner-id': 'spoofed', 'x-drop-me': '1', 'x-request-id': 'rid-1' },
    });
    assert.equal(r.status, 200);
    const seen = up.seen[up.seen.length - 1].headers;
    assert.equal(seen['x-partner-id'], 'p-42', 'headersFromServer replaces the client\'s copy');
    assert.equal(seen['x-other'], undefined);
    assert.equal(seen['x-partner-key'], undefined, 'removed by x-envoy-auth-headers-to-remove');
    assert.equal(seen['x-drop-me'], undefined);
    assert.equal(seen.authorization, 'Bearer abc');
  }
  const asked = authz.seen[before];
  assert.equal(asked.method, 'DELETE');
  assert.equal(asked.url, '/check/orders/7?expand=1');
  assert.equal(asked.headers.authorization, 'Bearer abc');
  assert.equal(asked.headers['x-partner-key'], 'k1');
  assert.equal(asked.headers.cookie, undefined, 'only headersToServer are sent');
  assert.equal(asked.headers['x-partner-id'], undefined);
  assert.equal(asked.headers['x-forwarded-method'], 'DELETE');
  assert.equal(asked.headers['x-forwarded-uri'], '/orders/7?expand=1');
  assert.equal(asked.headers['x-forwarded-host'], `localhost:${gw.httpsPort}`);
  assert.equal(asked.headers['x-forwarded-proto'], 'https');
  assert.equal(asked.headers['x-forwarded-for'], '127.0.0.1');
  assert.equal(asked.headers['x-request-id'], 'rid-1');
  assert.equal(asked.body, '', 'no body unless withRequestBody');
});

test('denied: any other status is answered with that status, the service headers and body; nothing reaches the upstream', async () => {
  const seenBefore = up.seen.length;
  authz.answer = (_req, res) => {
    res.writeHead(302, { location: 'https://login.example/?rd=x', 'set-cookie': ['a=1', 'b=2'], 'content-type': 'text/html', connection: 'keep-alive' });
    res.end('<a href="https://login.example/">login</a>');
  };
  for (const client of [h1, h2]) {
    const r = await client(pki, gw.httpsPort, '/private');
    assert.equal(r.status, 302);
    assert.equal(r.headers.location, 'https://login.example/?rd=x');
    assert.deepEqual(r.headers['set-cookie'], ['a=1', 'b=2']);
    assert.equal(r.body, '<a href="https://login.example/">login</a>');
    assert.ok(r.headers['x-request-id']);
  }
  authz.answer = (_req, res) => {
    res.writeHead(503);
    res.end();
  };
  const r = await h1(pki, gw.httpsPort, '/private');
  assert.equal(r.status, 503, 'the service status, even a 5xx');
  assert.equal(JSON.parse(r.body).error, 'ext_authz_denied');
  assert.equal(up.seen.length, seenBefore);
});

test('withRequestBody sends the first maxBytes with the partial flag; the upstream gets the whole body', async () => {
  authz.answer = (_req, res) => res.end();
  const before = authz.seen.length;
  const r = await h1(pki, gw.httpsPort, '/upload', { method: 'POST', body: 'abcdefghijklmnop' });
  assert.equal(r.status, 200);
  assert.equal(authz.seen[before].body, 'abcdefgh');
  assert.equal(authz.seen[before].headers['x-envoy-auth-partial-body'], 'true');
  assert.equal(JSON.parse(r.body).bodyBytes, 16);
});

test('service down, answering garbage, a denial body too large or too slow: 403 ext_authz_error (failureModeAllow: served)', async () => {
  authz.answer = (_req, res) => {
    if (_req.url === '/check/huge') {
      res.writeHead(401);
      res.end(Buffer.alloc(200 * 1024, 'x'));
      return;
    }
    setTimeout(() => res.end(), 1_000);
  };
  const seenBefore = up.seen.length;
  for (const path of ['/down', '/garbage', '/slow', '/huge']) {
    const r = await h1(pki, gw.httpsPort, path);
    assert.equal(r.status, 403, path);
    assert.equal(JSON.parse(r.body).error, 'ext_authz_error', path);
  }
  assert.equal(up.seen.length, seenBefore);
  const r = await h1(pki, gw.httpsPort, '/open-slow');
  assert.equal(r.status, 200);
  assert.equal(up.seen[up.seen.length - 1].headers['x-envoy-auth-failure-mode-allowed'], 'true');
});
