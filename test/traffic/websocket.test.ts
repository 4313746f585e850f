import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import https from 'node:https';
import tls from 'node:tls';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { WebSocket, WebSocketServer } from 'ws';
import { testPki, type TestPki } from '../helpers/pki.ts';
import { startGateway, type TestGateway } from '../helpers/gateway.ts';
import { eventually } from '../helpers/net.ts';
import { trafficConfig } from '../helpers/traffic.ts';

// WebSocket through the gateway: TLS from the client, HTTP/1.1 Upgrade, mutual TLS to a ws echo server.

let pki: TestPki;
let server: https.Server;
let wss: WebSocketServer;
let gw: TestGateway;
const serverSide: WebSocket[] = [];
const closedOnServer: number[] = [];
let upgradeHeaders: Record<string, string | string[] | undefined> = {};

before(async () => {
  pki = await testPki();
  server = https.createServer({
    cert: pki.read('upstream.crt'),
    key: pki.read('upstream.key'),
    ca: pki.read('ca.crt'),
    requestCert: true,
    rejectUnauthorized: true,
  });
  wss = new WebSocketServer({
    server,
    verifyClient: (info, cb) => (info.req.url?.startsWith('/ws/deny') ? cb(false, 401, 'Unauthorized') : cb(true)),
  });
  wss.on('connection', (ws, req) => {
    upgradeHeaders = req.headers;
    serverSide.push(ws);
    ws.on('message', (data, binary) => {
      if (data.toString() === 'server-close') ws.close(4001, 'bye from server');
      else ws.send(data, { binary });
    });
    ws.on('close', (code) => closedOnServer.push(code));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  gw = await startGateway(
    trafficConfig(pki, {
      routes: `
      - name: ws
        match: { prefix: /ws }
        route: { cluster: echo-ws, websocket: true, requestHeaders: { set: { x-edge-route: "%ROUTE_NAME%" } } }
      - { name: plain, match: { prefix: / }, route: { cluster: echo-ws } }`,
      clusters: `
  - name: echo-ws
    discovery: { type: static, endpoints: ["127.0.0.1:${port}"] }
    tls:
      certFile: ${pki.file('gatehouse.crt')}
      keyFile: ${pki.file('gatehouse.key')}
      caFile: ${pki.file('ca.crt')}
      serverName: localhost`,
    }),
  );
});
after(async () => {
  await gw.close();
  wss.close();
  server.closeAllConnections();
  await new Promise<void>((r) => server.close(() => r()));
});

function connect(path: string): WebSocket {
  return new WebSocket(`wss://localhost:${gw.httpsPort}${path}`, { ca: pki.read('ca.crt') });
}

function nextMessage(ws: WebSocket): Promise<{ data: string; binary: boolean }> {
  return new Promise((resolve, reject) => {
    ws.once('message', (data, binary) => resolve({ data: data.toString(), binary }));
    ws.once('error', reject);
  });
}

test('a WebSocket echo through the gateway, closed cleanly by the client', async () => {
  const ws = connect('/ws/chat?room=1');
  await new Promise((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
  });
  assert.equal(upgradeHeaders['x-edge-route'], 'ws', 'route header edits apply to the upgrade request');
  assert.equal(upgradeHeaders['x-forwarded-proto'], 'https');
  ws.send('hello');
  assert.deepEqual(await nextMessage(ws), { data: 'hello', binary: false });
  ws.send(Buffer.from([1, 2, 3]));
  const bin = await nextMessage(ws);
  assert.equal(bin.binary, true);
  const big = 'x'.repeat(256 * 1024);
  ws.send(big);
  assert.equal((await nextMessage(ws)).data.length, big.length);

  const before = closedOnServer.length;
  const code = await new Promise<number>((resolve) => {
    ws.once('close', (c) => resolve(c));
    ws.close(1000, 'done');
  });
  assert.equal(code, 1000);
  await eventually(() => closedOnServer.length > before, 'the upstream saw the close');
  assert.equal(closedOnServer.at(-1), 1000);
});

test('a close from the upstream reaches the client with its code', async () => {
  const ws = connect('/ws');
  await new Promise((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
  });
  const closed = new Promise<[number, string]>((resolve) => ws.once('close', (c, reason) => resolve([c, reason.toString()])));
  ws.send('server-close');
  assert.deepEqual(await closed, [4001, 'bye from server']);
});

test('an Upgrade on a route without websocket: true is refused with 403', async () => {
  const ws = connect('/not-ws');
  const status = await new Promise<number>((resolve, reject) => {
    ws.once('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
    ws.once('open', () => reject(new Error('should not open')));
    ws.once('error', () => undefined);
  });
  assert.equal(status, 403);
});

test('an upstream that refuses the upgrade has its answer relayed', async () => {
  const ws = connect('/ws/deny');
  const status = await new Promise<number>((resolve, reject) => {
    ws.once('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
    ws.once('open', () => reject(new Error('should not open')));
    ws.once('error', () => undefined);
  });
  assert.equal(status, 401);
});

test('an Upgrade to another protocol than websocket is refused with 403, even on a websocket route', async () => {
  const sock = tls.connect({ host: '127.0.0.1', port: gw.httpsPort, ca: pki.read('ca.crt'), servername: 'localhost', ALPNProtocols: ['http/1.1'] });
  await once(sock, 'secureConnect');
  sock.write(`GET /ws HTTP/1.1\r\nhost: localhost\r\nconnection: upgrade\r\nupgrade: h2c\r\n\r\n`);
  let text = '';
  sock.on('data', (c: Buffer) => (text += c.toString()));
  await once(sock, 'end');
  sock.destroy();
  assert.match(text, /^HTTP\/1\.1 403 /);
  assert.match(text, /"error":"upgrade_not_allowed"/);
});
