import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import https from 'node:https';
import { testPki, type TestPki } from '../helpers/pki.ts';
import { startUpstream, type TestUpstream } from '../helpers/upstream.ts';
import { startGateway, type TestGateway } from '../helpers/gateway.ts';
import { freePort } from '../helpers/net.ts';
import { h2 } from '../helpers/clients.ts';
import { retryStats } from '../../src/proxy/retry-policy.ts';
import { keepAliveRequest, staticCluster, trafficConfig } from '../helpers/traffic.ts';

// Retries against a real upstream that misbehaves on purpose. The upstream reads its script from the
// path: /<mode>/<n>/<key> fails the first n requests for <key> (mode 503 | reset | slow), then answers
// 200 with how many tries it saw and how many body bytes the last one carried.

let pki: TestPki;
let up: TestUpstream;
let gw: TestGateway;
let agent: https.Agent;
const tries = new Map<string, number>();

const routes = `
      - name: a
        match: { prefix: /a/ }
        route: { cluster: scripted, prefixRewrite: /, retries: { attempts: 3, retryOn: [connect-failure, reset, "503"] } }
      - name: b
        match: { prefix: /b/ }
        route: { cluster: scripted, prefixRewrite: /, retries: { attempts: 2, perTryTimeout: 300ms, retryOn: [reset] } }
      - name: c
        match: { prefix: /c/ }
        route: { cluster: scripted, prefixRewrite: /, retries: { attempts: 2, retryOn: [5xx], retryNonIdempotent: true } }
      - name: d
        match: { prefix: /d/ }
        route: { cluster: scripted, prefixRewrite: / }
      - name: e
        match: { prefix: /e/ }
        route: { cluster: half-dead, prefixRewrite: /, retries: { attempts: 1, retryOn: [connect-failure] } }
      - name: f
        match: { prefix: /f/ }
        route: { cluster: scripted, prefixRewrite: /, retries: { attempts: 1, retryOn: [gateway-error] } }
      - name: g
        match: { prefix: /g/ }
        route: { cluster: no-retry-budget, prefixRewrite: /, retries: { attempts: 3, retryOn: ["503"] } }`;

before(async () => {
  pki = await testPki();
  up = await startUpstream({
    handler: (req, res) => {
      const [, mode, n, key] = (req.url ?? '').split('/');
      const count = (tries.get(key) ?? 0) + 1;
      tries.set(key, count);
      let bytes = 0;
      req.on('data', (c: Buffer) => (bytes += c.length));
      req.on('end', () => {
        if (count <= Number(n)) {
          if (mode === 'reset') return req.socket.destroy();
          if (mode === 'slow') return; // never answers; the gateway's per-try timeout gives up on it
          res.writeHead(Number(mode), { 'content-type': 'text/plain' });
          return res.end(`failing try ${count}`);
        }
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ tries: count, bodyBytes: bytes }));
      });
    },
  });
  const dead = `127.0.0.1:${await freePort()}`; // nothing listens here: connect failures
  gw = await startGateway(
    trafficConfig(pki, {
      routes,
      clusters:
        staticCluster('scripted', [up.address]) +
        staticCluster('half-dead', [dead, up.address]) +
        staticCluster('no-retry-budget', [up.address], '    circuitBreakers: { maxRetries: 0 }\n'),
    }),
  );
  agent = new https.Agent({ keepAlive: true, maxSockets: 2 });
});
after(async () => {
  agent.destroy();
  await gw.close();
  await up.close();
});

const send = (path: string, o: { method?: string; body?: string | Buffer } = {}) =>
  keepAliveRequest(pki, agent, gw.httpsPort, path, {
    ...o,
    headers: o.body !== undefined ? { 'content-length': String(Buffer.byteLength(o.body)) } : {},
  });

test('a 503 is retried and the client never sees the failed tries', async () => {
  const before = retryStats().get('scripted') ?? 0;
  const r = await send('/a/503/2/k1');
  assert.equal(retryStats().get('scripted'), before + 2, 'two retries counted for the cluster');
  const metrics = await (await fetch(`http://127.0.0.1:${gw.adminPort}/metrics`)).text();
  assert.match(metrics, new RegExp(`gatehouse_retries_total\\{cluster="scripted"\\} ${before + 2}\\b`));
  assert.equal(r.status, 200);
  assert.equal(JSON.parse(r.body).tries, 3);
  assert.equal(tries.get('k1'), 3);
});

test('circuitBreakers.maxRetries bounds the retries in flight to a cluster (0: none)', async () => {
  const r = await send('/g/503/1/k20');
  assert.equal(r.status, 503, 'the failed try is answered as it is');
  assert.equal(tries.get('k20'), 1, 'no retry was made');
  const metrics = await (await fetch(`http://127.0.0.1:${gw.adminPort}/metrics`)).text();
  assert.match(metrics, /gatehouse_circuit_breaker_overflow_total\{cluster="no-retry-budget",limit="max_retries"\} 1/);
});

test('a connection reset before the response is retried', async () => {
  const r = await send('/a/reset/2/k2');
  assert.equal(r.status, 200);
  assert.equal(tries.get('k2'), 3);
});

test('attempts: 3 means at most 4 tries; then the last answer is relayed', async () => {
  const r = await send('/a/503/99/k3');
  assert.equal(r.status, 503);
  assert.equal(r.body, 'failing try 4');
  assert.equal(tries.get('k3'), 4);
});

test('a POST is not retried unless the route opts in', async () => {
  const r = await send('/a/503/1/k4', { method: 'POST', body: 'hello' });
  assert.equal(r.status, 503);
  assert.equal(tries.get('k4'), 1);

  const ok = await send('/c/503/1/k5', { method: 'POST', body: 'hello' });
  assert.equal(ok.status, 200);
  assert.deepEqual(JSON.parse(ok.body), { tries: 2, bodyBytes: 5 }, 'the kept body is replayed whole');
});

test('a small body is replayed; a body above the kept limit is sent once and not retried', async () => {
  const small = await send('/a/503/1/k6', { method: 'PUT', body: Buffer.alloc(1000, 'x') });
  assert.equal(small.status, 200);
  assert.deepEqual(JSON.parse(small.body), { tries: 2, bodyBytes: 1000 });

  const large = await send('/a/503/1/k7', { method: 'PUT', body: Buffer.alloc(100 * 1024, 'y') });
  assert.equal(large.status, 503);
  assert.equal(tries.get('k7'), 1);
  const passes = await send('/a/503/0/k8', { method: 'PUT', body: Buffer.alloc(100 * 1024, 'y') });
  assert.deepEqual(JSON.parse(passes.body), { tries: 1, bodyBytes: 100 * 1024 }, 'a large body still streams through');
});

test('perTryTimeout: a try that does not answer in time is abandoned and retried', async () => {
  const r = await send('/b/slow/1/k9');
  assert.equal(r.status, 200);
  assert.equal(JSON.parse(r.body).tries, 2);
  const all = await send('/b/slow/99/k10');
  assert.equal(all.status, 504, 'every try timed out');
  assert.equal(tries.get('k10'), 3);
});

test('no retry policy: one try', async () => {
  const r = await send('/d/503/1/k11');
  assert.equal(r.status, 503);
  assert.equal(tries.get('k11'), 1);
});

test('gateway-error retries 502/503/504 but not 500', async () => {
  assert.equal((await send('/f/502/1/k12')).status, 200);
  assert.equal(tries.get('k12'), 2);
  assert.equal((await send('/f/500/1/k13')).status, 500);
  assert.equal(tries.get('k13'), 1);
});

test('a retry goes to another endpoint: with one dead endpoint of two, every request succeeds', async () => {
  for (let i = 0; i < 10; i++) {
    const r = await send(`/e/503/0/e${i}`);
    assert.equal(r.status, 200, `request ${i}: ${r.body}`);
  }
});

test('HTTP/2 requests with a body (no content-length) are kept and replayed too', async () => {
  const r = await h2(pki, gw.httpsPort, '/c/503/1/k14', { method: 'POST', body: 'abcdef' });
  assert.equal(r.status, 200);
  assert.deepEqual(JSON.parse(r.body), { tries: 2, bodyBytes: 6 });
});
