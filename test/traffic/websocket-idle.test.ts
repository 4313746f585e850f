import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import https from 'node:https';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { WebSocket, WebSocketServer } from 'ws';
import { testPki, type TestPki } from '../helpers/pki.ts';
import { startGateway, gatewayPreamble, type TestGateway } from '../helpers/gateway.ts';
import { eventually } from '../helpers/net.ts';

// Issue 9 (last notes): an open WebSocket tunnel is bound by the listener's idleTimeout (1 s here):
// one through which nothing moves is closed on both sides; one in use stays open.

let pki: TestPki;
let server: https.Server;
let wss: WebSocketServer;
let gw: TestGateway;
const serverSide: WebSocket[] = [];

before(async () => {
  pki = await testPki();
  server = https.createServer({ cert: pki.read('upstream.crt'), key: pki.read('upstream.key'), ca: pki.read('ca.crt'), requestCert: true, rejectUnauthorized: true });
  wss = new WebSocketServer({ server });
  wss.on('connection', (ws) => {
    serverSide.push(ws);
    ws.on('message', (data, binary) => ws.send(data, { binary }));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  gw = await startGateway(`
${gatewayPreamble(pki)}
    limits: { idleTimeout: 1s }
virtualHosts:
  - name: main
    domains: ["*"]
    routes:
      - { name: ws, match: { prefix: /ws }, route: { cluster: echo-ws, websocket: true } }
clusters:
  - name: echo-ws
    discovery: { type: static, endpoints: ["127.0.0.1:${port}"] }
    tls: { certFile: ${pki.file('gatehouse.crt')}, keyFile: ${pki.file('gatehouse.key')}, caFile: ${pki.file('ca.crt')}, serverName: localhost }
`);
});
after(async () => {
  await gw.close();
  wss.close();
  server.closeAllConnections();
  await new Promise<void>((r) => server.close(() => r()));
});

async function open(): Promise<WebSocket> {
  const ws = new WebSocket(`wss://localhost:${gw.httpsPort}/ws`, { ca: pki.read('ca.crt') });
  await once(ws, 'open');
  return ws;
}

async function echo(ws: WebSocket, text: string): Promise<string> {
  ws.send(text);
  const [data] = await once(ws, 'message');
  return String(data);
}

test('an idle tunnel is closed after idleTimeout, on both sides', async () => {
  const ws = await open();
  assert.equal(await echo(ws, 'hello'), 'hello');
  const upstream = serverSide.at(-1)!;
  await eventually(() => ws.readyState === WebSocket.CLOSED, 'the client side is closed', 20_000);
  await eventually(() => upstream.readyState === WebSocket.CLOSED, 'the upstream side is closed', 20_000);
});

test('a tunnel in use outlives idleTimeout', async () => {
  const ws = await open();
  try {
    // Traffic every 200 ms for three idle periods.
    for (let i = 0; i < 15; i++) {
      assert.equal(await echo(ws, `m${i}`), `m${i}`);
      await new Promise((r) => setTimeout(r, 200));
    }
    assert.equal(ws.readyState, WebSocket.OPEN);
  } finally {
    ws.close();
  }
});
