import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import { testPki, type TestPki } from '../helpers/pki.ts';
import { closedAfterTests } from '../helpers/fixture.ts';
import type { TestUpstream } from '../helpers/upstream.ts';
import { eventually, freePort } from '../helpers/net.ts';
import { encodeCheckRequest } from '../../src/health/active-check-grpc.ts';
import { clusterState, endpointState, get, meshConfig, metricValue, named } from './setup.ts';

// Outlier ejection, panic mode, circuit breakers and active health checks, through a real gateway
// to real upstream servers on loopback.

let pki: TestPki;
before(async () => {
  pki = await testPki();
});
const { defer, gateway, upstream } = closedAfterTests();

test('outlier detection: an endpoint answering 500 is ejected, traffic goes to the other, and it returns after the ejection time', async () => {
  let badStatus = 500;
  const good = await upstream(named('good'));
  const bad = await upstream(named('bad', () => badStatus));
  const gw = await gateway(
    meshConfig(
      pki,
      `  - name: backend
    discovery: { type: static, endpoints: ["${good.address}", "${bad.address}"] }
    outlierDetection: { consecutive5xx: 3, consecutiveGatewayErrors: 100, interval: 100ms, baseEjectionTime: 1500ms, maxEjectionPercent: 50 }`,
    ),
  );
  await eventually(async () => {
    await get(pki, gw);
    return (await endpointState(gw, bad.address))?.ejected === true;
  }, 'the 500 endpoint is ejected');
  const seenByBad = bad.seen.length;
  for (let i = 0; i < 20; i++) {
    const r = await get(pki, gw);
    assert.equal(r.status, 200);
    assert.equal(r.headers['x-upstream'], 'good');
  }
  assert.equal(bad.seen.length, seenByBad, 'an ejected endpoint gets no traffic');
  assert.ok((await metricValue(gw, 'gatehouse_outlier_ejections_total', 'cluster="backend",reason="consecutive_5xx"')) >= 1);
  const state = await clusterState(gw);
  assert.equal(state.panic, false);
  assert.equal(state.endpoints.find((e) => e.address === good.address)?.ejected, false);

  badStatus = 200; // it recovers; once the ejection time is over it serves again
  await eventually(async () => (await endpointState(gw, bad.address))?.ejected === false, 'the ejection ends');
  await eventually(async () => (await get(pki, gw)).headers['x-upstream'] === 'bad', 'the returned endpoint gets traffic again');
});

test('outlier detection: connect failures eject by consecutiveGatewayErrors; panic mode serves from all when everything is ejected', async () => {
  const closedPort = await freePort();
  const failing = await upstream(named('failing', () => 503));
  const gw = await gateway(
    meshConfig(
      pki,
      `  - name: backend
    discovery: { type: static, endpoints: ["127.0.0.1:${closedPort}", "${failing.address}"] }
    connectTimeout: 1s
    outlierDetection: { consecutive5xx: 2, consecutiveGatewayErrors: 2, interval: 100ms, baseEjectionTime: 60s, maxEjectionPercent: 100 }`,
    ),
  );
  const statuses = new Set<number>();
  await eventually(async () => {
    statuses.add((await get(pki, gw)).status);
    const s = await clusterState(gw);
    return s.endpoints.every((e) => e.ejected);
  }, 'both endpoints ejected');
  assert.ok(statuses.has(502), 'the closed port answered 502 (connect failure) before its ejection');
  const s = await clusterState(gw);
  assert.equal(s.panic, true, 'everything ejected → panic mode');
  assert.ok(s.endpoints.every((e) => e.serving), 'in panic every healthy endpoint serves');
  assert.ok((await metricValue(gw, 'gatehouse_outlier_ejections_total', 'reason="consecutive_gateway_errors"')) >= 2);
  assert.ok((await metricValue(gw, 'gatehouse_upstream_connect_errors_total', 'cluster="backend"')) >= 2);
  // Panic: requests still reach the endpoints (never a 503 no_healthy_upstream from the gateway).
  let fromFailing = 0;
  for (let i = 0; i < 10; i++) {
    const r = await get(pki, gw);
    assert.notEqual(JSON.parse(r.body.startsWith('{') ? r.body : '{}').error, 'no_healthy_upstream');
    if (r.headers['x-upstream'] === 'failing') fromFailing++;
  }
  assert.ok(fromFailing > 0, 'the ejected but reachable endpoint still serves in panic mode');
});

test('maxEjectionPercent caps ejections: with 2 endpoints at 50% only one is ejected', async () => {
  const a = await upstream(named('a', () => 500));
  const b = await upstream(named('b', () => 500));
  const gw = await gateway(
    meshConfig(
      pki,
      `  - name: backend
    discovery: { type: static, endpoints: ["${a.address}", "${b.address}"] }
    outlierDetection: { consecutive5xx: 2, interval: 100ms, baseEjectionTime: 60s, maxEjectionPercent: 50 }`,
    ),
  );
  await eventually(async () => {
    await get(pki, gw);
    return (await clusterState(gw)).endpoints.some((e) => e.ejected);
  }, 'one ejection');
  for (let i = 0; i < 10; i++) await get(pki, gw);
  const s = await clusterState(gw);
  assert.equal(s.endpoints.filter((e) => e.ejected).length, 1);
  assert.equal(s.panic, false);
});

test('circuit breakers: maxPendingRequests and maxRequests overflow answer 503 circuit_open at once', async () => {
  const held: Array<() => void> = [];
  let hold = true;
  const slow = await upstream((req, res) => {
    req.resume();
    const answer = () => res.writeHead(200, { 'x-upstream': 'slow' }).end('slow');
    if (hold) held.push(answer);
    else answer();
  });
  const gw = await gateway(
    meshConfig(
      pki,
      `  - name: pend
    discovery: { type: static, endpoints: ["${slow.address}"] }
    circuitBreakers: { maxConnections: 1, maxPendingRequests: 1, maxRequests: 100 }
  - name: reqs
    discovery: { type: static, endpoints: ["${slow.address}"] }
    circuitBreakers: { maxConnections: 10, maxPendingRequests: 10, maxRequests: 1 }`,
      { routes: [{ prefix: '/pend', cluster: 'pend' }, { prefix: '/reqs', cluster: 'reqs' }] },
    ),
  );
  // maxConnections 1: the first request holds the one connection, the second waits (pending), the third overflows.
  const first = get(pki, gw, '/pend/1');
  await eventually(() => slow.seen.length === 1, 'first request reached the upstream');
  const second = get(pki, gw, '/pend/2');
  await eventually(async () => (await clusterState(gw, 'pend')).pending === 1, 'second request pending');
  const third = await get(pki, gw, '/pend/3');
  assert.equal(third.status, 503);
  assert.equal(JSON.parse(third.body).error, 'circuit_open');
  assert.equal(slow.seen.length, 1, 'the overflowing request never reached the upstream');
  assert.ok((await metricValue(gw, 'gatehouse_circuit_breaker_overflow_total', 'cluster="pend",limit="max_pending_requests"')) >= 1);

  // maxRequests 1 on the other cluster: one in flight, the next overflows.
  const r1 = get(pki, gw, '/reqs/1');
  await eventually(() => slow.seen.length === 2, 'a request of the second cluster reached the upstream');
  const r2 = await get(pki, gw, '/reqs/2');
  assert.equal(r2.status, 503);
  assert.equal(JSON.parse(r2.body).error, 'circuit_open');
  assert.ok((await metricValue(gw, 'gatehouse_circuit_breaker_overflow_total', 'cluster="reqs",limit="max_requests"')) >= 1);

  // Release: everything admitted completes, and the counters return to zero.
  hold = false;
  while (held.length) held.shift()!();
  assert.equal((await first).status, 200);
  assert.equal((await second).status, 200);
  assert.equal((await r1).status, 200);
  const pend = await clusterState(gw, 'pend');
  assert.equal(pend.inflight, 0);
  assert.equal(pend.pending, 0);
  assert.equal((await get(pki, gw, '/reqs/3')).status, 200, 'below the limits again');
  assert.equal(slow.seen.length, 4, 'the pending request and the ones below the limits reached the upstream');
});

test('active HTTP health checks: a failing endpoint gets no traffic, none left → 503 no_healthy_upstream, recovery brings it back', async () => {
  let aHealth = 200;
  let bHealth = 200;
  const a = await upstream(named('a', () => 200, () => aHealth));
  const b = await upstream(named('b', () => 200, () => bHealth));
  const gw = await gateway(
    meshConfig(
      pki,
      `  - name: backend
    discovery: { type: static, endpoints: ["${a.address}", "${b.address}"] }
    healthCheck: { path: /healthz, interval: 100ms, timeout: 1s, unhealthyThreshold: 2, healthyThreshold: 2 }`,
    ),
  );
  await eventually(() => a.seen.some((s) => s.url === '/healthz') && b.seen.some((s) => s.url === '/healthz'), 'both probed');
  bHealth = 503;
  await eventually(async () => (await endpointState(gw, b.address))?.healthy === false, 'b marked unhealthy');
  for (let i = 0; i < 10; i++) assert.equal((await get(pki, gw, '/x')).headers['x-upstream'], 'a');
  assert.ok(!b.seen.some((s) => s.url === '/x'), 'no traffic to the unhealthy endpoint');

  aHealth = 500;
  await eventually(async () => (await endpointState(gw, a.address))?.healthy === false, 'a marked unhealthy');
  const none = await get(pki, gw, '/x');
  assert.equal(none.status, 503);
  assert.equal(JSON.parse(none.body).error, 'no_healthy_upstream');
  assert.ok((await metricValue(gw, 'gatehouse_health_check_failures_total', 'cluster="backend"')) >= 4);

  bHealth = 200;
  await eventually(async () => (await endpointState(gw, b.address))?.healthy === true, 'b healthy again');
  const back = await get(pki, gw, '/x');
  assert.equal(back.status, 200);
  assert.equal(back.headers['x-upstream'], 'b');
});

test('active gRPC health checks (grpc.health.v1 over h2c) and an HTTP/2 cluster', async () => {
  let serving = 1; // 1 SERVING, 2 NOT_SERVING
  const checked: string[] = [];
  const server = http2.createServer();
  server.on('stream', (stream, headers) => {
    const path = headers[':path'];
    const chunks: Buffer[] = [];
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.on('end', () => {
      if (path === '/grpc.health.v1.Health/Check') {
        checked.push(Buffer.concat(chunks).toString('hex'));
        const msg = Buffer.from([0x08, serving]);
        const frame = Buffer.alloc(5);
        frame.writeUInt32BE(msg.length, 1);
        stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
        stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
        stream.end(Buffer.concat([frame, msg]));
      } else {
        stream.respond({ ':status': 200, 'x-upstream': 'h2c', 'x-proto': 'h2' });
        stream.end('over h2c');
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  defer(() => new Promise<void>((r) => server.close(() => r())));
  const address = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  const gw = await gateway(
    meshConfig(
      pki,
      `  - name: backend
    discovery: { type: static, endpoints: ["${address}"] }
    http2: true
    healthCheck: { grpc: { service: "shop.Checkout" }, interval: 100ms, timeout: 1s, unhealthyThreshold: 1, healthyThreshold: 1 }`,
    ),
  );
  await eventually(() => checked.length > 0, 'a gRPC health check arrived');
  assert.equal(checked[0], encodeCheckRequest('shop.Checkout').toString('hex'));
  const ok = await get(pki, gw, '/over-h2c');
  assert.equal(ok.status, 200);
  assert.equal(ok.body, 'over h2c', 'the HTTP/1.1 request went to the h2c-only upstream over HTTP/2');

  serving = 2;
  await eventually(async () => (await endpointState(gw, address))?.healthy === false, 'NOT_SERVING → unhealthy');
  assert.equal((await get(pki, gw)).status, 503);
  serving = 1;
  await eventually(async () => (await endpointState(gw, address))?.healthy === true, 'SERVING → healthy');
  assert.equal((await get(pki, gw)).status, 200);
});

test('ring_hash through the gateway: a header key sticks to one endpoint; without the key requests still spread', async () => {
  const ups = await Promise.all(['u0', 'u1', 'u2'].map((n) => upstream(named(n))));
  const gw = await gateway(
    meshConfig(
      pki,
      `  - name: backend
    discovery: { type: static, endpoints: [${ups.map((u) => `"${u.address}"`).join(', ')}] }
    loadBalancer: { policy: ring_hash, hashOn: { header: x-user } }`,
    ),
  );
  const owners = new Map<string, string>();
  for (let i = 0; i < 6; i++) {
    for (const user of ['alice', 'bob', 'carol', 'dave']) {
      const r = await get(pki, gw, '/', { 'x-user': user });
      const who = String(r.headers['x-upstream']);
      if (owners.has(user)) assert.equal(who, owners.get(user), `${user} moved`);
      owners.set(user, who);
    }
  }
  const spread = new Set<string>();
  for (let i = 0; i < 30; i++) spread.add(String((await get(pki, gw)).headers['x-upstream']));
  assert.ok(spread.size >= 2, 'no key → random picks over the endpoints');
});

test('reload: an unchanged cluster is kept with its ejection state; a retired cluster stops its health checks', async () => {
  const a = await upstream(named('a'));
  const b = await upstream(named('b'));
  const bad = await upstream(named('bad', () => 500));
  const yaml = (backend: string) =>
    meshConfig(
      pki,
      `  - name: keep
    discovery: { type: static, endpoints: ["${bad.address}", "${a.address}"] }
    outlierDetection: { consecutive5xx: 2, interval: 100ms, baseEjectionTime: 60s, maxEjectionPercent: 50 }
  - name: backend
    discovery: { type: static, endpoints: ["${backend}"] }
    healthCheck: { path: /healthz, interval: 100ms, timeout: 1s }`,
      { routes: [{ prefix: '/keep', cluster: 'keep' }, { prefix: '/', cluster: 'backend' }] },
    );
  const gw = await gateway(yaml(a.address));
  await eventually(async () => {
    await get(pki, gw, '/keep');
    return (await endpointState(gw, bad.address, 'keep'))?.ejected === true;
  }, 'bad ejected in the kept cluster');
  const checks = (u: TestUpstream) => u.seen.filter((s) => s.url === '/healthz').length;
  await eventually(() => checks(a) > 0, 'a is health-checked');

  gw.rewrite(yaml(b.address));
  const result = await gw.gw.reload('test');
  assert.equal(result.ok, true);
  const aChecks = checks(a);
  const bStart = checks(b);
  await eventually(() => checks(b) >= bStart + 5, 'b is health-checked by the new cluster');
  assert.ok(checks(a) <= aChecks + 1, `the retired cluster kept checking a (${aChecks} → ${checks(a)})`);
  assert.equal((await endpointState(gw, bad.address, 'keep'))?.ejected, true, 'the kept cluster kept its ejection state');
  assert.equal((await get(pki, gw, '/x')).headers['x-upstream'], 'b');
});

test('active gRPC health checks over mutual TLS (h2 by ALPN) with the SAN check', async () => {
  let serving = 1;
  const peers: string[] = [];
  const server = http2.createSecureServer({
    cert: pki.read('upstream.crt'),
    key: pki.read('upstream.key'),
    ca: pki.read('ca.crt'),
    requestCert: true,
    rejectUnauthorized: true,
  });
  server.on('stream', (stream, headers) => {
    stream.resume();
    stream.on('end', () => {
      if (headers[':path'] !== '/grpc.health.v1.Health/Check') {
        stream.respond({ ':status': 200 });
        stream.end('app');
        return;
      }
      peers.push((stream.session?.socket as import('node:tls').TLSSocket).getPeerCertificate().subjectaltname ?? '');
      const msg = Buffer.from([0x08, serving]);
      const frame = Buffer.alloc(5);
      frame.writeUInt32BE(msg.length, 1);
      stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
      stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
      stream.end(Buffer.concat([frame, msg]));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  defer(() => new Promise<void>((r) => server.close(() => r())));
  const address = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  const gw = await gateway(
    meshConfig(
      pki,
      `  - name: backend
    discovery: { type: static, endpoints: ["${address}"] }
    http2: true
    tls:
      certFile: ${pki.file('gatehouse.crt')}
      keyFile: ${pki.file('gatehouse.key')}
      caFile: ${pki.file('ca.crt')}
      matchSubjectAltNames: ["spiffe://mesh.local/ns/demo/sa/echo"]
    healthCheck: { grpc: { service: "" }, interval: 100ms, timeout: 1s, unhealthyThreshold: 1, healthyThreshold: 1 }`,
    ),
  );
  await eventually(() => peers.length > 0, 'a gRPC health check over mTLS arrived');
  assert.match(peers[0], /spiffe:\/\/mesh\.local\/ns\/edge\/sa\/gatehouse/, 'the probe presented the client certificate');
  assert.equal((await get(pki, gw)).body, 'app');
  serving = 2;
  await eventually(async () => (await endpointState(gw, address))?.healthy === false, 'NOT_SERVING → unhealthy');
  assert.equal(JSON.parse((await get(pki, gw)).body).error, 'no_healthy_upstream');
});
