import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import https from 'node:https';
import http2 from 'node:http2';
import net from 'node:net';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { WebSocket, WebSocketServer } from 'ws';
import { testPki, type TestPki } from '../helpers/pki.ts';
import { startUpstream, type TestUpstream } from '../helpers/upstream.ts';
import { gatewayPreamble } from '../helpers/gateway.ts';
import { spawnGateway, writeConfig } from '../helpers/process.ts';
import { eventually, freePort } from '../helpers/net.ts';
import { startLoad, type LoadRun } from '../helpers/load.ts';
import { healthClient } from '../helpers/grpc-health.ts';
import { h1 } from '../helpers/clients.ts';

// The SPEC's drain, on a real child process and real signals, under continuous load:
//   SIGTERM → /readyz 503 and gRPC health NOT_SERVING at once; the listener keeps serving and
//   accepting for drain.delay (a cloud LB that still sends new connections sees no failure);
//   then it stops accepting; a slow HTTP/1.1 request and a slow HTTP/2 stream in flight finish
//   (the h2 client got a GOAWAY first), an open WebSocket keeps working; exit 0.
// And: a second SIGTERM exits at once with a non-zero code; drain.timeout cuts what never ends.

let pki: TestPki;
let up: TestUpstream;
const held: Array<() => void> = [];
let wsServer: import('node:http').Server;
let wss: WebSocketServer;

before(async () => {
  pki = await testPki();
  up = await startUpstream({
    handler: (req, res) => {
      if (req.url?.startsWith('/slow')) {
        held.push(() => res.end('slow done'));
        return;
      }
      if (req.url === '/never') return; // never answers: drain.timeout has to cut it
      res.end('ok');
    },
  });
  wsServer = (await import('node:http')).createServer();
  wss = new WebSocketServer({ server: wsServer });
  wss.on('connection', (ws) => ws.on('message', (d) => ws.send(d)));
  await new Promise<void>((r) => wsServer.listen(0, '127.0.0.1', r));
});
after(async () => {
  await up.close();
  wss.close();
  wsServer.closeAllConnections();
  await new Promise<void>((r) => wsServer.close(() => r()));
});

function config(drain: string, grpcPort: number): string {
  return `
grpcHealth: { address: "127.0.0.1:${grpcPort}" }
${gatewayPreamble(pki)}
virtualHosts:
  - name: main
    domains: ["*"]
    routes:
      - { name: ws, match: { prefix: /ws }, route: { cluster: ws, websocket: true } }
      - { name: all, match: { prefix: / }, route: { cluster: backend, timeout: 60s } }
clusters:
  - name: backend
    discovery: { type: static, endpoints: ["${up.address}"] }
    connectTimeout: 1s
  - name: ws
    discovery: { type: static, endpoints: ["127.0.0.1:${(wsServer.address() as AddressInfo).port}"] }
    connectTimeout: 1s
`.replace('drain: { delay: 0s, timeout: 2s }', `drain: ${drain}`);
}

async function readyz(adminPort: number): Promise<number | null> {
  return (await fetch(`http://127.0.0.1:${adminPort}/readyz`).catch(() => null))?.status ?? null;
}

function refused(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      resolve(false);
    });
    s.once('error', (e: NodeJS.ErrnoException) => resolve(e.code === 'ECONNREFUSED'));
  });
}

test('SIGTERM under load: no failed request, slow requests and a WebSocket finish, exit 0', async () => {
  const grpcPort = await freePort();
  const cfg = await writeConfig(config('{ delay: 5s, timeout: 20s }', grpcPort));
  const gw = await spawnGateway(cfg.file);
  const health = healthClient(grpcPort);
  let loads: LoadRun[] = [];
  let loadsStopped = false;
  try {
    // Continuous load over HTTP/1.1 (keep-alive pool) and HTTP/2, from before SIGTERM to after the flip.
    loads = [
      startLoad({ pki, port: cfg.httpsPort, path: '/load', protocol: 'h1', concurrency: 2 }),
      startLoad({ pki, port: cfg.httpsPort, path: '/load', protocol: 'h2', concurrency: 2 }),
    ];
    await Promise.all(loads.map((l) => l.waitForMore(25)));

    // In flight across the whole drain: a slow HTTP/1.1 request on a keep-alive connection, a slow
    // HTTP/2 stream, an open WebSocket.
    const agent = new https.Agent({ keepAlive: true });
    const slowH1 = new Promise<{ status: number; body: string; connection?: string }>((resolve, reject) => {
      https
        .get({ host: '127.0.0.1', port: cfg.httpsPort, path: '/slow-h1', ca: pki.read('ca.crt'), servername: 'localhost', agent }, (res) => {
          let body = '';
          res.on('data', (d) => (body += d));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body, connection: res.headers.connection }));
        })
        .on('error', reject);
    });
    const session = http2.connect(`https://localhost:${cfg.httpsPort}`, { ca: pki.read('ca.crt') });
    session.on('error', () => undefined);
    const goaways: Array<[number, number]> = [];
    session.on('goaway', (code, lastStreamID) => goaways.push([code, lastStreamID]));
    const slowH2 = new Promise<{ status: number; body: string }>((resolve, reject) => {
      const st = session.request({ ':path': '/slow-h2' });
      let status = 0;
      let body = '';
      st.on('response', (h) => (status = Number(h[':status'])));
      st.setEncoding('utf8');
      st.on('data', (d: string) => (body += d));
      st.on('end', () => resolve({ status, body }));
      st.on('error', reject);
    });
    const ws = new WebSocket(`wss://localhost:${cfg.httpsPort}/ws`, { ca: pki.read('ca.crt') });
    await once(ws, 'open');
    await eventually(() => held.length === 2, 'both slow requests held at the upstream');

    const watch = health.watch('');
    await eventually(() => watch.seen.length === 1, 'health watch open');
    assert.deepEqual(watch.seen, ['SERVING']);

    gw.child.kill('SIGTERM');
    await eventually(async () => (await readyz(cfg.adminPort)) === 503, 'readiness turns 503');
    await eventually(() => watch.seen.at(-1) === 'NOT_SERVING', 'Watch streams NOT_SERVING');

    // The LB has not noticed yet: requests keep coming, on old and on new connections.
    const atFlip = loads.map((l) => l.report().sent);
    const fresh = await h1(pki, cfg.httpsPort, '/new-connection-after-flip');
    assert.equal(fresh.status, 200, 'a new connection during drain.delay is accepted and served');
    assert.equal(fresh.headers.connection, 'close', 'HTTP/1.1 responses during the drain close their connection');
    // ~60 more answers each, or 1.5 s, whichever first: well inside drain.delay (5 s)
    await Promise.all(loads.map((l) => l.waitForMore(60, 1500).catch(() => undefined)));
    loadsStopped = true;
    const reports = await Promise.all(loads.map((l) => l.stop())); // the LB took the instance out
    for (const [i, r] of reports.entries()) {
      assert.deepEqual(r.failures, [], 'no failed request');
      assert.equal(r.failed, 0);
      assert.ok(r.ok > atFlip[i], 'requests were served after readiness flipped');
    }

    // After drain.delay: the port closes; what is in flight carries on.
    await eventually(() => refused(cfg.httpsPort), 'the listener stops accepting', 30_000);
    await eventually(() => goaways.length > 0, 'the HTTP/2 client got GOAWAY');
    // graceful (RFC 9113 §6.8): first "no new streams" with the largest id, nothing in flight refused
    assert.deepEqual(goaways[0], [http2.constants.NGHTTP2_NO_ERROR, 2 ** 31 - 1]);
    ws.send('still here');
    const [echo] = await once(ws, 'message');
    assert.equal(echo.toString(), 'still here', 'an open WebSocket keeps working while draining');
    for (const release of held.splice(0)) release();
    assert.deepEqual(await slowH2, { status: 200, body: 'slow done' });
    const h1r = await slowH1;
    assert.deepEqual([h1r.status, h1r.body, h1r.connection], [200, 'slow done', 'close']);
    ws.close();
    agent.destroy();
    session.close();
    assert.equal(await gw.exited, 0);
    assert.match(gw.stderr(), /listeners stop accepting/);
  } finally {
    if (!loadsStopped) await Promise.all(loads.map((l) => l.stop().catch(() => undefined)));
    health.close();
    if (gw.child.exitCode === null) await gw.kill('SIGKILL');
  }
});

test('a second SIGTERM during the drain exits at once with a non-zero code', async () => {
  const grpcPort = await freePort();
  const cfg = await writeConfig(config('{ delay: 60s, timeout: 30s }', grpcPort));
  const gw = await spawnGateway(cfg.file);
  try {
    gw.child.kill('SIGTERM');
    await eventually(async () => (await readyz(cfg.adminPort)) === 503, 'draining');
    gw.child.kill('SIGTERM');
    assert.equal(await gw.exited, 1);
  } finally {
    if (gw.child.exitCode === null) await gw.kill('SIGKILL');
  }
});

test('drain.timeout bounds a request that never finishes; the exit is still 0', async () => {
  const grpcPort = await freePort();
  const cfg = await writeConfig(config('{ delay: 0s, timeout: 1s }', grpcPort));
  const gw = await spawnGateway(cfg.file);
  try {
    const never = new Promise<string>((resolve) => {
      https
        .get({ host: '127.0.0.1', port: cfg.httpsPort, path: '/never', ca: pki.read('ca.crt'), servername: 'localhost', agent: false }, () => resolve('answered'))
        .on('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? e.message));
    });
    await eventually(async () => {
      const text = await fetch(`http://127.0.0.1:${cfg.adminPort}/metrics`).then((x) => x.text()).catch(() => '');
      return text.split('\n').some((l) => l.startsWith('gatehouse_active_requests{') && l.endsWith(' 1'));
    }, 'the request is in flight');
    gw.child.kill('SIGTERM');
    assert.equal(await gw.exited, 0);
    assert.equal(await never, 'ECONNRESET', 'cut at the timeout');
    assert.match(gw.stderr(), /drain timeout: cutting what is still open/);
  } finally {
    if (gw.child.exitCode === null) await gw.kill('SIGKILL');
  }
});
