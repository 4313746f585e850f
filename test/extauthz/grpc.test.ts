import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as grpc from '@grpc/grpc-js';
import { testPki, type TestPki } from '../helpers/pki.ts';
import { startUpstream, type TestUpstream } from '../helpers/upstream.ts';
import { startGateway, type TestGateway, gatewayPreamble } from '../helpers/gateway.ts';
import { h1, h2 } from '../helpers/clients.ts';
import { freePort } from '../helpers/net.ts';
import { makeKey, sign, type TestKey } from '../helpers/authn-jwks.ts';
import { OK, startGrpcAuthz, type CheckAnswer, type CheckRequestSeen, type TestGrpcAuthz } from '../helpers/ext-authz.ts';

// ext_authz over gRPC (envoy.service.auth.v3.Authorization/Check) through a real gateway, a real
// grpc-js authorization server and a real upstream: what the CheckRequest carries, how OK and denied
// answers are applied, and every failure (service down, slow, garbage) with and without
// failureModeAllow. The service's answer is chosen per request path.

let pki: TestPki;
let up: TestUpstream;
let authz: TestGrpcAuthz;
let gw: TestGateway;
let key: TestKey;
let deadAddress: string;
let flaky: TestUpstream;
let flakyHits = 0;

const answers = new Map<string, (req: CheckRequestSeen) => CheckAnswer | Promise<CheckAnswer>>();

before(async () => {
  pki = await testPki();
  key = await makeKey('k1', 'ec');
  up = await startUpstream();
  // Fails the first try of each request pair, echoes the body otherwise.
  flaky = await startUpstream({
    handler: (req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        flakyHits++;
        res.writeHead(flakyHits === 1 ? 503 : 200);
        res.end(Buffer.concat(chunks));
      });
    },
  });
  authz = await startGrpcAuthz();
  authz.answer = (req) => {
    const path = req.attributes.request.http.path as string;
    // The longest registered prefix of the path decides.
    const prefix = [...answers.keys()].sort((a, b) => b.length - a.length).find((p) => path.startsWith(p));
    return prefix ? answers.get(prefix)!(req) : OK;
  };
  deadAddress = `127.0.0.1:${await freePort()}`; // nothing listens there
  const service = `grpc: { address: "${authz.address}" }`;
  gw = await startGateway(`
${gatewayPreamble(pki)}
authn:
  providers:
    - name: idp
      issuer: https://idp.test
      audiences: [gatehouse-test]
      jwks: { keys: [${JSON.stringify(key.jwk)}] }
      claimsToHeaders: { sub: x-auth-sub }
      forwardToken: false
rateLimit:
  policies:
    - { name: per-ip, key: clientIp, limit: 1000000, window: 1s }
    - { name: per-user, key: "claim:sub", limit: 1000000, window: 1s }
virtualHosts:
  - name: main
    domains: ["*"]
    extAuthz: { ${service}, timeout: 5s, contextExtensions: { team: payments } }
    routes:
      - { name: open, match: { prefix: /open }, extAuthz: null, route: { cluster: backend } }
      - name: claims
        match: { prefix: /claims }
        authn: { providers: [idp] }
        authz: { allow: [{ claims: { sub: alice } }] }
        rateLimits: [per-ip, per-user]
        route: { cluster: backend }
      - name: body
        match: { prefix: /body }
        extAuthz: { ${service}, timeout: 5s, withRequestBody: { maxBytes: 16 } }
        route: { cluster: backend }
      - name: retry
        match: { prefix: /retry }
        extAuthz: { ${service}, timeout: 5s, withRequestBody: { maxBytes: 64 } }
        route: { cluster: flaky, retries: { attempts: 1, retryOn: ["503"], retryNonIdempotent: true } }
      - name: raw-body
        match: { prefix: /raw }
        extAuthz: { ${service}, timeout: 5s, withRequestBody: { maxBytes: 64, packAsBytes: true } }
        route: { cluster: backend }
      - { name: down, match: { prefix: /down }, extAuthz: { grpc: { address: "${deadAddress}" }, timeout: 2s }, route: { cluster: backend } }
      - name: down-allowed
        match: { prefix: /failopen-down }
        extAuthz: { grpc: { address: "${deadAddress}" }, timeout: 2s, failureModeAllow: true }
        route: { cluster: backend }
      - { name: slow, match: { prefix: /slow }, extAuthz: { ${service}, timeout: 100ms }, route: { cluster: backend } }
      - { name: slow-allowed, match: { prefix: /failopen-slow }, extAuthz: { ${service}, timeout: 100ms, failureModeAllow: true }, route: { cluster: backend } }
      - { name: ping, match: { path: /ping }, directResponse: { status: 200, body: "pong" } }
      - { name: all, match: { prefix: / }, route: { cluster: backend } }
clusters:
  - name: backend
    discovery: { type: static, endpoints: ["${up.address}"] }
  - name: flaky
    discovery: { type: static, endpoints: ["${flaky.address}"] }
`);
});

after(async () => {
  await gw.close();
  await authz.stop();
  await up.close();
  await flaky.close();
});

/** The headers the upstream saw on its last request. */
function lastSeen() {
  return up.seen[up.seen.length - 1];
}

test('the CheckRequest carries source, destination, request (id, method, path with query, host, scheme, protocol, headers) and the route', async () => {
  const before = authz.calls.length;
  const r = await h1(pki, gw.httpsPort, '/things/a%2Fb?x=1&y=2', { headers: { 'X-Mixed-Case': 'v1', 'x-request-id': 'req-123' } });
  assert.equal(r.status, 200);
  const call = authz.calls[before].attributes;
  const http = call.request.http;
  assert.equal(http.id, 'req-123');
  assert.equal(http.method, 'GET');
  assert.equal(http.path, '/things/a%2Fb?x=1&y=2');
  assert.equal(http.host, `localhost:${gw.httpsPort}`);
  assert.equal(http.scheme, 'https');
  assert.equal(http.protocol, 'HTTP/1.1');
  assert.equal(http.size, '0');
  assert.equal(http.headers['x-mixed-case'], 'v1', 'header names are lower-cased');
  assert.equal(http.headers[':method'], 'GET');
  assert.equal(http.headers[':path'], '/things/a%2Fb?x=1&y=2');
  assert.equal(http.headers['x-request-id'], 'req-123');
  assert.equal(http.headers.host, undefined, 'the authority is :authority');
  assert.equal(call.source.address.socket_address.address, '127.0.0.1');
  assert.ok(call.source.address.socket_address.port_value > 0);
  assert.equal(call.destination.address.socket_address.port_value, gw.httpsPort);
  assert.equal(call.tls_session?.sni, 'localhost');
  assert.deepEqual(
    { route: call.context_extensions.route, virtualHost: call.context_extensions.virtualHost, team: call.context_extensions.team },
    { route: 'all', virtualHost: 'main', team: 'payments' },
  );
  assert.ok(Number(call.request.time.seconds) > 1_600_000_000);

  const before2 = authz.calls.length;
  assert.equal((await h2(pki, gw.httpsPort, '/things', { headers: { 'x-h2': 'yes' } })).status, 200);
  assert.equal(authz.calls[before2].attributes.request.http.protocol, 'HTTP/2');
  assert.equal(authz.calls[before2].attributes.request.http.headers['x-h2'], 'yes');
});

test('the check sits after authn and authz, before the claim-keyed rate limits', () => {
  const route = gw.gw.current!.hosts.lookup('localhost')!.routes.find((r) => r.name === 'claims')!;
  assert.deepEqual(route.filters!.map((f) => f.name), ['ratelimit', 'authn', 'authz', 'ext-authz', 'ratelimit']);
});

test('verified claims arrive as context extensions; the stripped edge token is not sent, claim headers are', async () => {
  const token = await sign(key, { sub: 'alice', groups: ['a', 'b'], level: 3 });
  const before = authz.calls.length;
  const r = await h1(pki, gw.httpsPort, '/claims/x', { headers: { authorization: `Bearer ${token}`, 'x-auth-sub': 'spoofed' } });
  assert.equal(r.status, 200);
  const call = authz.calls[before].attributes;
  assert.equal(call.context_extensions['claim.sub'], 'alice');
  assert.equal(call.context_extensions['claim.groups'], '["a","b"]');
  assert.equal(call.context_extensions['claim.level'], '3');
  assert.equal(call.context_extensions['claim.iss'], 'https://idp.test');
  assert.equal(call.context_extensions.route, 'claims');
  assert.equal(call.request.http.headers.authorization, undefined, 'forwardToken: false removed it before ext_authz');
  assert.equal(call.request.http.headers['x-auth-sub'], 'alice', 'the verified claim header, not the spoofed one');
});

test('OK: header mutations reach the upstream (overwrite, append, add-if-absent, remove) and response headers the client', async () => {
  answers.set('/mutate', () => ({
    status: { code: 0 },
    ok_response: {
      headers: [
        { header: { key: 'x-internal-token', value: 'minted' } }, // append unset: overwrite
        { header: { key: 'x-tag', value: 'second' }, append: { value: true } },
        { header: { key: 'x-default', value: 'from-authz' }, append_action: 'ADD_IF_ABSENT' },
        { header: { key: 'x-kept', value: 'not-used' }, append_action: 'ADD_IF_ABSENT' },
        { header: { key: 'x-only-if-there', value: 'nope' }, append_action: 'OVERWRITE_IF_EXISTS' },
        { header: { key: 'host', value: 'evil.example' } }, // gateway-managed: ignored
      ],
      headers_to_remove: ['x-api-key', 'X-Secret'],
      response_headers_to_add: [
        { header: { key: 'x-authz-trace', value: 't1' } },
        { header: { key: 'x-upstream', value: 'replaced-by-authz' }, append: { value: false } },
      ],
    },
  }));
  const r = await h1(pki, gw.httpsPort, '/mutate', {
    headers: { 'x-internal-token': 'spoofed', 'x-tag': 'first', 'x-kept': 'client', 'x-api-key': 'k', 'x-secret': 's' },
  });
  assert.equal(r.status, 200);
  const seen = lastSeen().headers;
  assert.equal(seen['x-internal-token'], 'minted');
  assert.equal(seen['x-tag'], 'first, second');
  assert.equal(seen['x-default'], 'from-authz');
  assert.equal(seen['x-kept'], 'client');
  assert.equal(seen['x-only-if-there'], undefined);
  assert.equal(seen['x-api-key'], undefined);
  assert.equal(seen['x-secret'], undefined);
  assert.equal(seen.host, `localhost:${gw.httpsPort}`);
  assert.equal(r.headers['x-authz-trace'], 't1');
  assert.equal(r.headers['x-upstream'], 'replaced-by-authz');
});

test('denied: the service status, headers and body reach the client, nothing reaches the upstream', async () => {
  answers.set('/denied', () => ({
    status: { code: 7 }, // PERMISSION_DENIED
    denied_response: {
      status: { code: 'Unauthorized' },
      headers: [
        { header: { key: 'www-authenticate', value: 'Bearer realm="partner"' } },
        { header: { key: 'content-type', value: 'text/plain' } },
        { header: { key: 'x-request-id', value: 'forged' } }, // the gateway's own: not taken
      ],
      body: 'partner key required\n',
    },
  }));
  answers.set('/denied-plain', () => ({ status: { code: 16 } }));
  const seenBefore = up.seen.length;
  for (const client of [h1, h2]) {
    const r = await client(pki, gw.httpsPort, '/denied/x', { headers: { 'x-request-id': 'mine-1' } });
    assert.equal(r.status, 401);
    assert.equal(r.headers['www-authenticate'], 'Bearer realm="partner"');
    assert.equal(r.headers['content-type'], 'text/plain');
    assert.equal(r.headers['x-request-id'], 'mine-1');
    assert.equal(r.body, 'partner key required\n');
  }
  // A status that carries no body: the service's body is dropped, nothing breaks on either protocol.
  answers.set('/denied-204', () => ({ status: { code: 7 }, denied_response: { status: { code: 'NoContent' }, body: 'dropped' } }));
  for (const client of [h1, h2]) {
    const r = await client(pki, gw.httpsPort, '/denied-204');
    assert.equal(r.status, 204);
    assert.equal(r.body, '');
  }
  const plain = await h1(pki, gw.httpsPort, '/denied-plain');
  assert.equal(plain.status, 403);
  assert.equal(JSON.parse(plain.body).error, 'ext_authz_denied');
  assert.equal(up.seen.length, seenBefore, 'no denied request reached the upstream');
});

test('denied, to a real gRPC client: a gRPC status it can act on (mapped from the denial\'s HTTP status), the body as its message, the headers as metadata', async () => {
  // Answers are chosen by path prefix: these gRPC method paths fall under the denial prefixes above
  // (the denial test registers them; set here too so this test stands alone).
  answers.set('/denied', () => ({
    status: { code: 7 },
    denied_response: {
      status: { code: 'Unauthorized' },
      headers: [
        { header: { key: 'www-authenticate', value: 'Bearer realm="partner"' } },
        { header: { key: 'content-type', value: 'text/plain' } },
      ],
      body: 'partner key required\n',
    },
  }));
  answers.set('/denied-plain', () => ({ status: { code: 16 } }));
  const client = new grpc.Client(`localhost:${gw.httpsPort}`, grpc.credentials.createSsl(pki.read('ca.crt')));
  const call = (path: string) =>
    new Promise<grpc.ServiceError>((resolve, reject) => {
      const metadataSeen: grpc.Metadata[] = [];
      const c = client.makeUnaryRequest(
        path,
        (b: Buffer) => b,
        (b: Buffer) => b,
        Buffer.from('hello'),
        (err) => (err ? resolve(Object.assign(err, { metadata: metadataSeen[0] ?? err.metadata })) : reject(new Error('the call succeeded'))),
      );
      c.on('metadata', (m: grpc.Metadata) => metadataSeen.push(m));
    });
  const seenBefore = up.seen.length;
  try {
    const denied = await call('/denied.Partner/Call');
    assert.equal(denied.code, grpc.status.UNAUTHENTICATED); // 401
    assert.equal(denied.details, 'partner key required');
    assert.deepEqual(denied.metadata.get('www-authenticate'), ['Bearer realm="partner"']);
    assert.deepEqual(denied.metadata.get('x-gatehouse-error'), ['ext_authz_denied']);
    const plain = await call('/denied-plain.Partner/Call');
    assert.equal(plain.code, grpc.status.PERMISSION_DENIED); // 403: the service sent no response of its own
    assert.match(plain.details, /denied/i);
    // What grpc-js read was the gateway's answer, not a protocol error: HTTP 200 and a trailers-only head.
    const raw = await h2(pki, gw.httpsPort, '/denied.Partner/Call', { method: 'POST', headers: { 'content-type': 'application/grpc', te: 'trailers' }, body: Buffer.alloc(5) });
    assert.equal(raw.status, 200);
    assert.equal(raw.headers['content-type'], 'application/grpc');
    assert.equal(raw.headers['grpc-status'], '16');
    assert.equal(raw.headers['grpc-message'], 'partner key required');
    assert.equal(raw.body, '');
  } finally {
    client.close();
  }
  assert.equal(up.seen.length, seenBefore, 'no denied call reached the upstream');
});

test('a denial after part of the body was read for the check drains the rest: the HTTP/1.1 connection serves the next request', async () => {
  answers.set('/body/denied', () => ({ status: { code: 7 } }));
  const https = await import('node:https');
  const agent = new https.Agent({ keepAlive: true, maxSockets: 1 });
  try {
    const big = Buffer.alloc(256 * 1024, 'a');
    const denied = await h1(pki, gw.httpsPort, '/body/denied', { method: 'POST', body: big, agent });
    assert.equal(denied.status, 403);
    const next = await h1(pki, gw.httpsPort, '/ping', { agent });
    assert.equal(next.status, 200);
  } finally {
    agent.destroy();
  }
});

test('the request body is sent up to maxBytes (flagged partial beyond), and the upstream still gets all of it', async () => {
  const small = 'hello';
  let before = authz.calls.length;
  let r = await h1(pki, gw.httpsPort, '/body', { method: 'POST', body: small, headers: { 'content-type': 'text/plain' } });
  assert.equal(r.status, 200);
  let http = authz.calls[before].attributes.request.http;
  assert.equal(http.body, small);
  assert.equal(http.headers['x-envoy-auth-partial-body'], 'false');
  assert.equal(http.size, String(small.length));
  assert.equal(JSON.parse(r.body).bodyBytes, small.length);

  const big = 'x'.repeat(100_000);
  for (const client of [h1, h2]) {
    before = authz.calls.length;
    r = await client(pki, gw.httpsPort, '/body/big', { method: 'POST', body: big });
    assert.equal(r.status, 200);
    http = authz.calls[before].attributes.request.http;
    assert.equal(http.body, big.slice(0, 16));
    assert.equal(http.headers['x-envoy-auth-partial-body'], 'true');
    assert.equal(JSON.parse(r.body).bodyBytes, big.length, 'the upstream received the whole body');
  }

  before = authz.calls.length;
  const bytes = Buffer.from([0xff, 0x00, 0xfe, 0x41]);
  r = await h1(pki, gw.httpsPort, '/raw', { method: 'PUT', body: bytes });
  assert.equal(r.status, 200);
  http = authz.calls[before].attributes.request.http;
  assert.deepEqual(Buffer.from(http.raw_body), bytes);
  assert.equal(http.body, '');
});

test('a small body read for ext_authz is replayed on a retry', async () => {
  flakyHits = 0;
  const r = await h1(pki, gw.httpsPort, '/retry', { method: 'POST', body: 'replay-me' });
  assert.equal(r.status, 200);
  assert.equal(r.body, 'replay-me');
  assert.equal(flakyHits, 2, 'the first try got 503, the retry replayed the kept body');
});

test('service down, slow or answering garbage: 403 ext_authz_error; with failureModeAllow the request is served and flagged', async () => {
  answers.set('/slow', () => new Promise((r) => setTimeout(() => r(OK), 2_000)));
  answers.set('/failopen-slow', () => new Promise((r) => setTimeout(() => r(OK), 2_000)));
  answers.set('/garbage', () => ({ garbage: Buffer.from([0xff, 0xff, 0xff, 0x07, 0x01]) }));
  answers.set('/bad-header', () => ({ status: { code: 0 }, ok_response: { headers: [{ header: { key: 'bad name', value: 'x' } }] } }));
  answers.set('/bad-status', () => ({ status: { code: 7 }, denied_response: { status: { code: 'Continue' } } }));
  answers.set('/internal', () => ({ grpcError: 13 }));
  const seenBefore = up.seen.length;
  for (const path of ['/down', '/slow', '/garbage', '/bad-header', '/bad-status', '/internal']) {
    const r = await h1(pki, gw.httpsPort, path, { headers: { 'x-envoy-auth-failure-mode-allowed': 'true' } });
    assert.equal(r.status, 403, path);
    assert.equal(JSON.parse(r.body).error, 'ext_authz_error', path);
    assert.ok(r.headers['x-request-id'], path);
  }
  assert.equal(up.seen.length, seenBefore);

  for (const path of ['/failopen-down', '/failopen-slow']) {
    const r = await h1(pki, gw.httpsPort, path);
    assert.equal(r.status, 200, path);
    assert.equal(lastSeen().headers['x-envoy-auth-failure-mode-allowed'], 'true', path);
  }
  // A client cannot claim the flag itself.
  await h1(pki, gw.httpsPort, '/anything', { headers: { 'x-envoy-auth-failure-mode-allowed': 'true' } });
  assert.equal(lastSeen().headers['x-envoy-auth-failure-mode-allowed'], undefined);
});

test('extAuthz: null turns the host\'s check off for a route; a route\'s own replaces it', async () => {
  const before = authz.calls.length;
  assert.equal((await h1(pki, gw.httpsPort, '/open/x')).status, 200);
  assert.equal(authz.calls.length, before, 'no Check for a route with extAuthz: null');
  await h1(pki, gw.httpsPort, '/body/x', { method: 'POST', body: 'abc' });
  const call = authz.calls[authz.calls.length - 1].attributes;
  assert.equal(call.context_extensions.route, 'body');
  assert.equal(call.context_extensions.team, undefined, 'the route\'s extAuthz replaces the host\'s, it does not merge');
});

test('decisions and call latency are counted in /metrics', async () => {
  const res = await fetch(`http://127.0.0.1:${gw.adminPort}/metrics`);
  const text = await res.text();
  const count = (result: string) => Number(new RegExp(`gatehouse_ext_authz_decisions_total\\{result="${result}"\\} (\\d+)`).exec(text)?.[1]);
  assert.ok(count('allowed') > 0);
  assert.ok(count('denied') > 0);
  assert.ok(count('error') > 0);
  assert.ok(count('failure_mode_allowed') > 0);
  assert.match(text, /gatehouse_ext_authz_duration_seconds_count \d+/);
});

test('a reload that keeps the service keeps its channel', async () => {
  const gen = gw.gw.current!;
  const [service] = [...gen.extAuthz.services.values()].filter((s) => s.target === authz.address);
  assert.ok(service);
  const result = await gw.gw.reload('test');
  assert.equal(result.ok, true);
  const again = [...gw.gw.current!.extAuthz.services.values()].find((s) => s.target === authz.address);
  assert.equal(again, service, 'same service object after an unchanged reload');
  assert.equal((await h1(pki, gw.httpsPort, '/after-reload')).status, 200);
});
