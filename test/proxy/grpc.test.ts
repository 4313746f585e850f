import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as grpc from '@grpc/grpc-js';
import { testPki, type TestPki } from '../helpers/pki.ts';
import { startGateway, gatewayPreamble, type TestGateway } from '../helpers/gateway.ts';
import { freePort } from '../helpers/net.ts';
import { echoClient, startGrpcEcho, type GrpcEcho, type Msg } from '../helpers/grpc-echo.ts';

// Issue 9 item 15: gRPC through the gateway. A real @grpc/grpc-js server (TLS, h2, client
// certificate required) behind a cluster with `http2: true`, called by a real @grpc/grpc-js client:
// unary and server-streaming calls get their messages, initial metadata, and the status and trailing
// metadata that travel in HTTP/2 trailers. The gateway's own errors reach gRPC clients as gRPC
// statuses (HTTP 200, trailers-only), by the HTTP → gRPC mapping.

let pki: TestPki;
let echo: GrpcEcho;
let gw: TestGateway;
let client: ReturnType<typeof echoClient>;

before(async () => {
  pki = await testPki();
  echo = await startGrpcEcho(pki);
  const dead = `127.0.0.1:${await freePort()}`;
  const tls = `tls: { certFile: ${pki.file('gatehouse.crt')}, keyFile: ${pki.file('gatehouse.key')}, caFile: ${pki.file('ca.crt')}, serverName: localhost }`;
  gw = await startGateway(`
${gatewayPreamble(pki)}
authn:
  providers:
    - { name: idp, issuer: https://idp.test, audiences: [a], jwks: { keys: [{ kty: EC, crv: P-256, x: "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU", y: "x_FEzRu9m36HLN_tAKgLCg-SLafwV4ZOhQ-Ws3zsUBI" }] } }
virtualHosts:
  - name: grpc
    domains: ["*"]
    routes:
      - { name: secure, match: { prefix: /gatehouse.test.Echo/, headers: [{ name: x-secure, present: true }] }, authn: { providers: [idp] }, route: { cluster: echo } }
      - { name: dead, match: { prefix: /gatehouse.test.Echo/, headers: [{ name: x-dead, present: true }] }, route: { cluster: dead } }
      - { name: echo, match: { prefix: /gatehouse.test.Echo/ }, route: { cluster: echo, timeout: 1s } }
clusters:
  - name: echo
    discovery: { type: static, endpoints: ["${echo.address}"] }
    http2: true
    ${tls}
  - name: dead
    discovery: { type: static, endpoints: ["${dead}"] }
    connectTimeout: 1s
    http2: true
    ${tls}
`);
  client = echoClient(pki, gw.httpsPort);
});
after(async () => {
  client.close();
  await gw.close();
  await echo.close();
});

interface Outcome {
  reply: Msg | null;
  error: grpc.ServiceError | null;
  initial: grpc.Metadata | null;
  status: grpc.StatusObject | null;
}

function say(text: string, md: Record<string, string> = {}): Promise<Outcome> {
  const metadata = new grpc.Metadata();
  for (const [k, v] of Object.entries(md)) metadata.set(k, v);
  return new Promise((resolve) => {
    const out: Outcome = { reply: null, error: null, initial: null, status: null };
    let settled = 0;
    const done = () => ++settled === 2 && resolve(out);
    const call = client.Say({ text }, metadata, { deadline: Date.now() + 20_000 }, (err: grpc.ServiceError | null, reply: Msg) => {
      out.error = err;
      out.reply = reply ?? null;
      done();
    });
    call.on('metadata', (m: grpc.Metadata) => (out.initial = m));
    call.on('status', (s: grpc.StatusObject) => {
      out.status = s;
      done();
    });
  });
}

test('unary: the answer, initial metadata, OK status and trailing metadata arrive', async () => {
  const r = await say('hi');
  assert.equal(r.error, null);
  assert.deepEqual(r.reply, { text: 'echo: hi', n: 2 });
  assert.deepEqual(r.initial?.get('x-initial'), ['hello']);
  assert.equal(r.status?.code, grpc.status.OK);
  assert.deepEqual(r.status?.metadata.get('x-trailer'), ['done'], 'trailing metadata travels in HTTP/2 trailers');
});

test("unary: the server's error status, message and trailing metadata arrive", async () => {
  const r = await say('fail');
  assert.equal(r.error?.code, grpc.status.NOT_FOUND);
  assert.equal(r.error?.details, 'no such thing');
  assert.deepEqual(r.error?.metadata.get('x-why'), ['because']);
});

test("a trailers-only answer from the server (status in its only HEADERS frame) is relayed as one", async () => {
  const r = await say('refuse');
  assert.equal(r.error?.code, grpc.status.PERMISSION_DENIED);
  assert.equal(r.error?.details, 'refused early');
  assert.deepEqual(r.error?.metadata.get('x-trailer'), ['done']);
});

test('server streaming: every message, then the status with trailing metadata', async () => {
  const call = client.Count({ text: '', n: 5 }, new grpc.Metadata(), { deadline: Date.now() + 20_000 });
  const got: Msg[] = [];
  call.on('data', (m: Msg) => got.push(m));
  const status = await new Promise<grpc.StatusObject>((resolve, reject) => {
    call.on('status', resolve);
    call.on('error', (e: grpc.ServiceError) => (e.code === grpc.status.OK ? undefined : reject(e)));
  });
  assert.deepEqual(got.map((m) => m.n), [1, 2, 3, 4, 5]);
  assert.equal(status.code, grpc.status.OK);
  assert.deepEqual(status.metadata.get('x-count'), ['5']);
  assert.deepEqual(status.metadata.get('x-trailer'), ['done']);
});

test('gateway-made errors are gRPC statuses (HTTP 200, trailers-only) by the HTTP → gRPC mapping', async () => {
  const cases: Array<[string, Promise<Outcome>, number, string]> = [
    ['401 → UNAUTHENTICATED', say('x', { 'x-secure': '1' }), grpc.status.UNAUTHENTICATED, 'unauthenticated'],
    ['502 connect failure → UNAVAILABLE', say('x', { 'x-dead': '1' }), grpc.status.UNAVAILABLE, 'upstream_connect_failure'],
    ['504 route timeout → DEADLINE_EXCEEDED', say('slow'), grpc.status.DEADLINE_EXCEEDED, 'upstream_timeout'],
  ];
  for (const [what, pending, code, gatewayCode] of cases) {
    const r = await pending;
    assert.equal(r.error?.code, code, `${what}: ${r.error?.details}`);
    assert.deepEqual(r.error?.metadata.get('x-gatehouse-error'), [gatewayCode], what);
    assert.equal(r.error?.metadata.get('x-request-id').length, 1, what);
  }
  assert.equal((await say('x', { 'x-secure': '1' })).error?.details, 'a valid access token is required');
});

test('404 (no route) → UNIMPLEMENTED', async () => {
  const err = await new Promise<grpc.ServiceError>((resolve) => {
    client.makeUnaryRequest(
      '/gatehouse.test.Missing/Say',
      (x: Buffer) => x,
      (x: Buffer) => x,
      Buffer.alloc(0),
      new grpc.Metadata(),
      { deadline: Date.now() + 20_000 },
      (e: grpc.ServiceError | null) => resolve(e!),
    );
  });
  assert.equal(err.code, grpc.status.UNIMPLEMENTED);
  assert.equal(err.details, 'no route matches this request');
});
