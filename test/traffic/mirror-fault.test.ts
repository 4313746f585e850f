import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import https from 'node:https';
import { testPki, type TestPki } from '../helpers/pki.ts';
import { startUpstream, type TestUpstream } from '../helpers/upstream.ts';
import { startGateway, type TestGateway } from '../helpers/gateway.ts';
import { eventually, freePort } from '../helpers/net.ts';
import { idUpstream, keepAliveRequest, staticCluster, trafficConfig } from '../helpers/traffic.ts';
import { faultStats } from '../../src/filters/fault/fault-filter.ts';
import { mirrorStats } from '../../src/proxy/mirror.ts';

// Mirroring (fire-and-forget shadow copies) and fault injection, through the real gateway.

let pki: TestPki;
let main: TestUpstream;
let shadow: TestUpstream;
let tlsShadow: TestUpstream;
let gw: TestGateway;
let agent: https.Agent;

const routes = `
      - { name: mirror-ok, match: { prefix: /mirror/ok }, route: { cluster: main, mirror: { cluster: shadow } } }
      - { name: mirror-tls, match: { prefix: /mirror/tls }, route: { cluster: main, mirror: { cluster: tls-shadow } } }
      - { name: mirror-dead, match: { prefix: /mirror/dead }, route: { cluster: main, mirror: { cluster: dead, percent: 100 } } }
      - { name: mirror-none, match: { prefix: /mirror/never }, route: { cluster: main, mirror: { cluster: shadow, percent: 0 } } }
      - { name: abort, match: { prefix: /fault/abort }, route: { cluster: main, fault: { abort: { status: 503 } } } }
      - { name: delay, match: { prefix: /fault/delay }, route: { cluster: main, fault: { delay: { fixed: 50ms, percent: 100 } } } }
      - { name: off, match: { prefix: /fault/off }, route: { cluster: main, fault: { abort: { status: 500, percent: 0 } } } }`;

before(async () => {
  pki = await testPki();
  main = await idUpstream('main');
  // The shadow never answers /mirror/ok/slow: the client must not wait for it.
  shadow = await idUpstream('shadow', (req) => (req.url ?? '').includes('/slow'));
  tlsShadow = await startUpstream({ tls: { pki } }); // mutual TLS, certificate for localhost
  const dead = `127.0.0.1:${await freePort()}`;
  gw = await startGateway(
    trafficConfig(pki, {
      routes,
      clusters:
        staticCluster('main', [main.address]) +
        staticCluster('shadow', [shadow.address]) +
        staticCluster('dead', [dead]) +
        staticCluster(
          'tls-shadow',
          [tlsShadow.address],
          `    tls: { certFile: ${pki.file('gatehouse.crt')}, keyFile: ${pki.file('gatehouse.key')}, caFile: ${pki.file('ca.crt')}, serverName: localhost }\n`,
        ),
    }),
  );
  agent = new https.Agent({ keepAlive: true, maxSockets: 2 });
});
after(async () => {
  agent.destroy();
  // The shadow first: its unanswered copy would otherwise hold the gateway's pool open until it times out.
  await Promise.all([main.close(), shadow.close(), tlsShadow.close()]);
  await gw.close();
});

const send = (path: string, o: { method?: string; body?: string } = {}) =>
  keepAliveRequest(pki, agent, gw.httpsPort, path, {
    ...o,
    headers: o.body !== undefined ? { 'content-length': String(Buffer.byteLength(o.body)) } : {},
  });

test('mirroring to a TLS cluster uses its serverName for SNI and verification, not the -shadow Host (issue 9.10)', async () => {
  const r = await send('/mirror/tls/x');
  assert.equal(r.status, 200);
  await eventually(() => tlsShadow.seen.some((s) => s.url === '/mirror/tls/x'), 'the mirrored GET over mutual TLS');
  const copy = tlsShadow.seen.find((s) => s.url === '/mirror/tls/x')!;
  assert.match(String(copy.headers.host), /-shadow/);
  assert.match(copy.peerSan ?? '', /spiffe:\/\/mesh\.local\/ns\/edge\/sa\/gatehouse/, 'the gateway presented its client certificate');
});

test('mirror traffic arrives at the shadow cluster, with a -shadow host and the kept body', async () => {
  const r = await send('/mirror/ok/a?x=1');
  assert.equal(r.status, 200);
  assert.equal(JSON.parse(r.body).id, 'main', 'the client gets the real answer');
  await eventually(() => shadow.seen.some((s) => s.url === '/mirror/ok/a?x=1'), 'the mirrored GET');
  const copy = shadow.seen.find((s) => s.url === '/mirror/ok/a?x=1')!;
  assert.equal(copy.headers.host, `localhost-shadow:${gw.httpsPort}`);

  const p = await send('/mirror/ok/post', { method: 'POST', body: 'payload' });
  assert.equal(p.status, 200);
  assert.equal(JSON.parse(p.body).bodyBytes, 7);
  await eventually(() => shadow.seen.some((s) => s.url === '/mirror/ok/post' && s.method === 'POST'), 'the mirrored POST');
  assert.equal(shadow.seen.find((s) => s.url === '/mirror/ok/post')!.headers['content-length'], '7');
});

test('a failing or silent mirror is invisible to the client', async () => {
  const before = mirrorStats().failed;
  for (let i = 0; i < 3; i++) {
    const r = await send(`/mirror/dead/${i}`);
    assert.equal(r.status, 200);
    assert.equal(JSON.parse(r.body).id, 'main');
  }
  await eventually(() => mirrorStats().failed >= before + 3, 'the mirror failures are counted, not shown');
  // A shadow that never answers does not hold up the client's response.
  const slow = await send('/mirror/ok/slow');
  assert.equal(slow.status, 200);
  await eventually(() => shadow.seen.some((s) => s.url === '/mirror/ok/slow'), 'the silent shadow got its copy');
});

test('mirror percent 0 sends nothing', async () => {
  const seen = shadow.seen.length;
  for (let i = 0; i < 5; i++) assert.equal((await send('/mirror/never')).status, 200);
  // Probe with a mirrored request: once it arrived, anything sent before it would have too.
  await send('/mirror/ok/probe');
  await eventually(() => shadow.seen.some((s) => s.url === '/mirror/ok/probe'), 'the probe copy');
  assert.equal(shadow.seen.filter((s) => s.url === '/mirror/never').length, 0);
  assert.ok(shadow.seen.length > seen);
});

test('fault abort answers with the configured status and never reaches the upstream', async () => {
  const before = main.seen.length;
  const r = await send('/fault/abort');
  assert.equal(r.status, 503);
  assert.equal(JSON.parse(r.body).error, 'fault_injected');
  assert.ok(r.headers['x-request-id']);
  assert.equal(main.seen.length, before);
});

test('fault delay holds the request, which still succeeds', async () => {
  const before = faultStats().delays;
  const r = await send('/fault/delay/x');
  assert.equal(r.status, 200);
  assert.equal(JSON.parse(r.body).url, '/fault/delay/x');
  assert.equal(faultStats().delays, before + 1, 'the delay was injected');
});

test('a fault with percent 0 never fires', async () => {
  for (let i = 0; i < 5; i++) assert.equal((await send('/fault/off')).status, 200);
});
