import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { testPki, type TestPki } from '../helpers/pki.ts';
import { closedAfterTests } from '../helpers/fixture.ts';
import type { TestUpstream } from '../helpers/upstream.ts';
import { startLoad } from '../helpers/load.ts';
import { eventually } from '../helpers/net.ts';
import { clusterState, meshConfig, named } from '../upstream/setup.ts';

// Fault injection under steady load (issue 15): what the clients saw while an upstream endpoint was
// killed, or hung. A bounded load generator keeps requests flowing the whole time; the assertions
// are about answers, never about time.

let pki: TestPki;
before(async () => {
  pki = await testPki();
});
const { defer, gateway, upstream: startNamed } = closedAfterTests();
const upstream = (name: string): Promise<TestUpstream> => startNamed(named(name));

test('an upstream endpoint killed mid-load: retries and ejection keep idempotent requests error-free', async () => {
  const a = await upstream('a');
  const b = await upstream('b');
  const gw = await gateway(
    meshConfig(
      pki,
      `  - name: backend
    discovery: { type: static, endpoints: ["${a.address}", "${b.address}"] }
    connectTimeout: 1s
    outlierDetection: { consecutive5xx: 5, consecutiveGatewayErrors: 2, interval: 200ms, baseEjectionTime: 30s, maxEjectionPercent: 50 }
    circuitBreakers: { maxRetries: 64 }`,
    ).replace(
      'route: { cluster: backend, timeout: 10s }',
      'route: { cluster: backend, timeout: 10s, retries: { attempts: 3, retryOn: [connect-failure, reset, refused-stream, "503"] } }',
    ),
  );
  const load = startLoad({ port: gw.httpsPort, pki, concurrency: 4 });
  try {
    await load.waitForMore(100);
    assert.ok(a.seen.length > 0 && b.seen.length > 0, 'both endpoints served before the kill');
    // kill b: its listener goes away and every open connection is cut, mid-exchange or idle
    b.server.close();
    b.server.closeAllConnections();
    await load.waitForMore(300);
    await eventually(async () => (await clusterState(gw)).endpoints.some((e) => e.address === b.address && e.ejected), 'the dead endpoint is ejected');
    const seenByA = a.seen.length;
    await load.waitForMore(100);
    assert.ok(a.seen.length > seenByA, 'the live endpoint keeps serving');
  } finally {
    const r = await load.stop();
    assert.equal(r.failed, 0, `no request failed: ${JSON.stringify(r.byStatus)} ${r.failures.join(' | ')}`);
    assert.ok(r.ok >= 500);
  }
});

test('an upstream that hangs: every request is answered 504 by the route timeout, no socket to it stays open, the gateway keeps serving others', async () => {
  const healthy = await upstream('healthy');
  // accepts connections, reads requests, never answers
  const held = new Set<net.Socket>();
  const hang = net.createServer((s) => {
    held.add(s);
    s.on('data', () => undefined);
    s.on('error', () => undefined);
    s.on('close', () => held.delete(s));
  });
  await new Promise<void>((r) => hang.listen(0, '127.0.0.1', () => r()));
  defer(
    () =>
      new Promise<void>((r) => {
        for (const s of held) s.destroy();
        hang.close(() => r());
      }),
  );
  const hangAddr = `127.0.0.1:${(hang.address() as net.AddressInfo).port}`;
  const gw = await gateway(
    meshConfig(
      pki,
      `  - name: stuck
    discovery: { type: static, endpoints: ["${hangAddr}"] }
    connectTimeout: 1s
  - name: backend
    discovery: { type: static, endpoints: ["${healthy.address}"] }`,
      { routes: [{ prefix: '/stuck', cluster: 'stuck' }, { prefix: '/', cluster: 'backend' }] },
    ).replace('route: { cluster: stuck, timeout: 10s }', 'route: { cluster: stuck, timeout: 300ms }'),
  );
  const stuckLoad = startLoad({ port: gw.httpsPort, pki, path: '/stuck/x', concurrency: 6, ok: (s) => s === 504 });
  const okLoad = startLoad({ port: gw.httpsPort, pki, path: '/fine', concurrency: 2 });
  let stuck;
  let fine;
  try {
    await stuckLoad.waitForMore(60);
    await okLoad.waitForMore(100);
  } finally {
    stuck = await stuckLoad.stop();
    fine = await okLoad.stop();
  }
  assert.equal(stuck.failed, 0, `every request to the hung upstream is a 504: ${JSON.stringify(stuck.byStatus)} ${stuck.failures.join(' | ')}`);
  assert.equal(fine.failed, 0, `the other route is unaffected: ${JSON.stringify(fine.byStatus)}`);
  // every timed-out exchange released its upstream connection: the hung server sees them all closed
  await eventually(() => held.size === 0, `no connection to the hung upstream stays open (${held.size} left)`);
  await eventually(() => gw.gw.inflight === 0, 'nothing is left in flight');
});
