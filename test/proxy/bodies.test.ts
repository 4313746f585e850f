import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import https from 'node:https';
import { Readable } from 'node:stream';
import { testPki, type TestPki } from '../helpers/pki.ts';
import { startUpstream, type TestUpstream } from '../helpers/upstream.ts';
import { basicConfig } from '../helpers/gateway.ts';
import { spawnGateway, writeConfig, memoryOf, type GatewayProcess } from '../helpers/process.ts';
import { h1, h2 } from '../helpers/clients.ts';

// Bodies are streamed both ways, never buffered whole (a 50 MB upload and download through a
// gateway process whose peak memory is measured), and body limits answer 413.

const MB = 1024 * 1024;
let pki: TestPki;
let up: TestUpstream;
let gw: GatewayProcess;
let port: number;

before(async () => {
  pki = await testPki();
  up = await startUpstream({
    handler: (req, res) => {
      if (req.url?.startsWith('/download')) {
        const total = 200 * MB;
        const chunk = Buffer.alloc(64 * 1024, 7);
        let sent = 0;
        res.writeHead(200, { 'content-length': total });
        const pump = () => {
          while (sent < total) {
            sent += chunk.length;
            if (!res.write(chunk)) return void res.once('drain', pump);
          }
          res.end();
        };
        pump();
        return;
      }
      let n = 0;
      req.on('data', (c: Buffer) => (n += c.length));
      req.on('end', () => res.end(JSON.stringify({ received: n })));
    },
  });
  const yaml = basicConfig(pki, {
    endpoint: up.address,
    limits: '    limits: { maxBodyBytes: 262144000 }',
    extraListener: `  - name: tiny
    address: "127.0.0.1:{{http}}"
    tls:
      certificates:
        - { certFile: ${pki.file('edge.crt')}, keyFile: ${pki.file('edge.key')} }
    limits: { maxBodyBytes: 1000 }`,
  });
  const c = await writeConfig(yaml);
  port = c.httpsPort;
  gw = await spawnGateway(c.file);
  tinyPort = c.httpPort;
});
let tinyPort: number;
after(async () => {
  await gw.kill('SIGTERM');
  await up.close();
});

function upload(bytes: number): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = https.request(
      { host: '127.0.0.1', port, path: '/upload', method: 'POST', ca: pki.read('ca.crt'), servername: 'localhost', headers: { 'content-type': 'application/octet-stream' }, agent: false },
      (res) => {
        let body = '';
        res.on('data', (d) => (body += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      },
    );
    req.on('error', reject);
    const chunk = Buffer.alloc(64 * 1024, 1);
    let sent = 0;
    Readable.from(
      (function* () {
        while (sent < bytes) {
          sent += chunk.length;
          yield chunk;
        }
      })(),
    ).pipe(req); // chunked: no content-length, the gateway streams it through
  });
}

test('a 50 MB upload, a 200 MB upload and a 200 MB download stream through with bounded memory', async () => {
  // warm up so the baseline includes pools, TLS and JIT
  assert.equal((await h1(pki, port, '/warm')).status, 200);
  const base = memoryOf(gw.child.pid!).rss;

  const r = await upload(50 * MB);
  // then far more than any buffer or GC slack could hide: 200 MB must not raise the peak by 200 MB
  const big = await upload(200 * MB);
  assert.equal(JSON.parse(big.body).received, 200 * MB);
  assert.equal(r.status, 200);
  assert.equal(JSON.parse(r.body).received, 50 * MB);

  const got = await new Promise<number>((resolve, reject) => {
    https
      .get({ host: '127.0.0.1', port, path: '/download', ca: pki.read('ca.crt'), servername: 'localhost', agent: false }, (res) => {
        let n = 0;
        res.on('data', (d: Buffer) => (n += d.length));
        res.on('end', () => resolve(n));
      })
      .on('error', reject);
  });
  assert.equal(got, 200 * MB);

  const peak = memoryOf(gw.child.pid!).peak;
  // Buffering a body whole would add ≥ 200 MB; streaming adds socket/TLS buffers and GC slack only.
  assert.ok(peak - base < 120 * MB, `peak ${Math.round(peak / MB)} MB vs ${Math.round(base / MB)} MB after warm-up`);
});

test('body over maxBodyBytes → 413: by Content-Length up front, and while streaming without one', async () => {
  const byLength = await h1(pki, tinyPort, '/x', { method: 'POST', body: Buffer.alloc(5000) });
  assert.equal(byLength.status, 413);
  assert.equal(JSON.parse(byLength.body).error, 'payload_too_large');

  const h2res = await h2(pki, tinyPort, '/x', { method: 'POST', body: Buffer.alloc(5000) });
  assert.equal(h2res.status, 413, 'HTTP/2 body without content-length is counted as it streams');

  const small = await h1(pki, tinyPort, '/x', { method: 'POST', body: Buffer.alloc(500) });
  assert.equal(small.status, 200);
  assert.equal(JSON.parse(small.body).bodyBytes ?? JSON.parse(small.body).received, 500);
});

