import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import https from 'node:https';
import tls from 'node:tls';
import { join } from 'node:path';
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { issue, testPki, type TestPki } from '../helpers/pki.ts';
import { closedAfterTests } from '../helpers/fixture.ts';
import { gatewayPreamble } from '../helpers/gateway.ts';
import { clusterTls } from '../helpers/config-text.ts';
import { startLoad, type LoadReport } from '../helpers/load.ts';
import { eventually } from '../helpers/net.ts';
import { h1 } from '../helpers/clients.ts';
import { testTempDir } from '../helpers/tmp.ts';

// Config and certificates change under steady load (issue 15): every certificate rotated on both
// sides (edge certificate, gatehouse's client certificate, the upstream's server certificate), and
// the config reloaded 20 times. No request may fail.

let pki: TestPki;
before(async () => {
  pki = await testPki();
});
const { defer, gateway, upstream } = closedAfterTests();

const serialOf = (pem: Buffer | string) => new X509Certificate(pem).serialNumber.toUpperCase();

/** An HTTPS upstream requiring a client certificate from the test CA; it reports the client cert's serial. */
async function mtlsUpstream(certFile: string, keyFile: string): Promise<{ server: https.Server; address: string; rotate(): void }> {
  const server = https.createServer(
    { cert: readFileSync(certFile), key: readFileSync(keyFile), ca: pki.read('ca.crt'), requestCert: true, rejectUnauthorized: true },
    (req, res) => {
      req.resume();
      req.on('end', () => {
        const peer = (req.socket as tls.TLSSocket).getPeerCertificate();
        res.writeHead(200, { 'x-client-serial': String(peer.serialNumber ?? '').toUpperCase() });
        res.end('ok');
      });
    },
  );
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  defer(
    () =>
      new Promise<void>((r) => {
        server.close(() => r());
        server.closeAllConnections();
      }),
  );
  return {
    server,
    address: `127.0.0.1:${(server.address() as import('node:net').AddressInfo).port}`,
    // new handshakes get the current files (as a server reloading its certificate would)
    rotate: () => server.setSecureContext({ cert: readFileSync(certFile), key: readFileSync(keyFile), ca: pki.read('ca.crt') }),
  };
}

function config(dir: string, upstream: string, marker: string): string {
  return `
${gatewayPreamble(pki, { certFile: join(dir, 'edge.crt'), keyFile: join(dir, 'edge.key') })}
virtualHosts:
  - name: main
    domains: ["*"]
    routes:
      - name: all
        match: { prefix: / }
        route:
          cluster: mesh
          timeout: 5s
          responseHeaders: { set: { x-config: "${marker}" } }
clusters:
  - name: mesh
    discovery: { type: static, endpoints: ["${upstream}"] }${clusterTls(pki, { certFile: join(dir, 'client.crt'), keyFile: join(dir, 'client.key') })}
`;
}

function edgeSerial(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = tls.connect({ host: '127.0.0.1', port, servername: 'localhost', ca: pki.read('ca.crt'), ALPNProtocols: ['http/1.1'] }, () => {
      const serial = String(s.getPeerCertificate().serialNumber).toUpperCase();
      s.destroy();
      resolve(serial);
    });
    s.once('error', reject);
  });
}

test('certificates rotated on both sides under load: no failed handshake, no failed request', async () => {
  const dir = testTempDir('gatehouse-rotate-');
  await issue(pki, 'edge', { dns: ['localhost'], ips: ['127.0.0.1'], outDir: dir });
  await issue(pki, 'client', { usage: 'client', spiffe: 'spiffe://mesh.local/ns/edge/sa/gatehouse', outDir: dir });
  await issue(pki, 'server', { dns: ['localhost'], outDir: dir });
  const up = await mtlsUpstream(join(dir, 'server.crt'), join(dir, 'server.key'));
  const gw = await gateway(config(dir, up.address, 'one'));
  const load = startLoad({ port: gw.httpsPort, pki, concurrency: 3 });
  // a second load that opens a new TLS connection for every request: it sees every rotation
  const fresh = startFreshConnections(gw.httpsPort);
  let r: LoadReport;
  try {
    await load.waitForMore(100);
    const edgeBefore = await edgeSerial(gw.httpsPort);
    const clientBefore = serialOf(readFileSync(join(dir, 'client.crt')));

    await issue(pki, 'edge', { dns: ['localhost'], ips: ['127.0.0.1'], outDir: dir });
    await issue(pki, 'client', { usage: 'client', spiffe: 'spiffe://mesh.local/ns/edge/sa/gatehouse', outDir: dir });
    await issue(pki, 'server', { dns: ['localhost'], outDir: dir });
    up.rotate();

    await eventually(async () => (await edgeSerial(gw.httpsPort)) !== edgeBefore, 'new handshakes get the rotated edge certificate');
    const clientAfter = serialOf(readFileSync(join(dir, 'client.crt')));
    assert.notEqual(clientAfter, clientBefore);
    await eventually(async () => (await h1(pki, gw.httpsPort, '/probe')).headers['x-client-serial'] === clientAfter, 'the upstream sees the rotated client certificate');
    await load.waitForMore(200);
  } finally {
    r = await load.stop();
  }
  const f = await fresh.stop();
  assert.equal(r.failed, 0, `keep-alive load: ${JSON.stringify(r.byStatus)} ${r.failures.join(' | ')}`);
  assert.ok(f.ok > 0);
  assert.deepEqual(f.failures, [], 'no new connection failed its handshake or its request');
});

test('the config reloaded 20 times under load: no failed request, every reload applied', async () => {
  const dir = testTempDir('gatehouse-reload-');
  await issue(pki, 'edge', { dns: ['localhost'], ips: ['127.0.0.1'], outDir: dir });
  await issue(pki, 'client', { usage: 'client', spiffe: 'spiffe://mesh.local/ns/edge/sa/gatehouse', outDir: dir });
  await issue(pki, 'server', { dns: ['localhost'], outDir: dir });
  const up = await mtlsUpstream(join(dir, 'server.crt'), join(dir, 'server.key'));
  const gw = await gateway(config(dir, up.address, 'v0'));
  const load = startLoad({ port: gw.httpsPort, pki, concurrency: 3, protocol: 'h2' });
  const h1load = startLoad({ port: gw.httpsPort, pki, concurrency: 2 });
  let r: LoadReport;
  let r1: LoadReport;
  try {
    await load.waitForMore(50);
    for (let i = 1; i <= 20; i++) {
      const before = gw.gw.current!.version;
      gw.rewrite(config(dir, up.address, `v${i}`));
      const result = await gw.gw.reload(`fault test ${i}`);
      assert.equal(result.ok, true, `reload ${i}: ${JSON.stringify(result)}`);
      assert.ok(gw.gw.current!.version > before);
      await load.waitForMore(20);
    }
    assert.equal((await h1(pki, gw.httpsPort, '/last')).headers['x-config'], 'v20');
  } finally {
    r = await load.stop();
    r1 = await h1load.stop();
  }
  assert.equal(r.failed, 0, `h2 load: ${JSON.stringify(r.byStatus)} ${r.failures.join(' | ')}`);
  assert.equal(r1.failed, 0, `HTTP/1.1 load: ${JSON.stringify(r1.byStatus)} ${r1.failures.join(' | ')}`);
});

/** Requests on a new TLS connection each, one after the other, until stop(). */
function startFreshConnections(port: number): { stop(): Promise<{ ok: number; failures: string[] }> } {
  let stopped = false;
  const out = { ok: 0, failures: [] as string[] };
  const loop = (async () => {
    while (!stopped) {
      try {
        const r = await h1(pki, port, '/fresh');
        if (r.status === 200) out.ok++;
        else out.failures.push(`${r.status} ${r.body.slice(0, 100)}`);
      } catch (err) {
        out.failures.push((err as Error).message);
      }
    }
  })();
  return {
    async stop() {
      stopped = true;
      await loop;
      return out;
    },
  };
}

test('a retry that lands after a reload retired its cluster is still sent (the retired pools wait for their last exchange)', async () => {
  let release!: () => void;
  const held = new Promise<void>((r) => (release = r));
  let n = 0;
  const up = await upstream((req, res) => {
    req.resume();
    const first = n++ === 0;
    void (first ? held : Promise.resolve()).then(() => {
      res.writeHead(first ? 503 : 200, { 'x-try': String(n) });
      res.end(first ? 'busy' : 'ok');
    });
  });
  const yaml = (connectTimeout: string) => `
${gatewayPreamble(pki)}
virtualHosts:
  - name: main
    domains: ["*"]
    routes:
      - { name: all, match: { prefix: / }, route: { cluster: backend, timeout: 10s, retries: { attempts: 2, retryOn: ["503"] } } }
clusters:
  - name: backend
    discovery: { type: static, endpoints: ["${up.address}"] }
    connectTimeout: ${connectTimeout}
`;
  const gw = await gateway(yaml('1s'));
  const answer = h1(pki, gw.httpsPort, '/retried');
  await eventually(() => up.seen.length === 1, 'the first try reached the upstream');
  const old = gw.gw.current!.clusters.get('backend')!;
  gw.rewrite(yaml('2s')); // a changed cluster: the reload builds a new one and retires the old
  assert.equal((await gw.gw.reload('test')).ok, true);
  assert.notEqual(gw.gw.current!.clusters.get('backend'), old);
  release(); // the first try answers 503 now: its retry goes through the retired cluster
  const r = await answer;
  assert.equal(r.status, 200, r.body);
  assert.equal(up.seen.length, 2);
  // and once that last exchange of the old generation ended, the retired pools close
  await eventually(() => old.endpoints.every((e) => e.pool.closed), 'the retired cluster closes its pools');
  assert.equal(gw.gw.current!.clusters.get('backend')!.endpoints[0]!.pool.closed, false);
});

test('a client certificate rotated half-way (new certificate, old key) is refused at reload; the previous cluster keeps serving', async () => {
  const dir = testTempDir('gatehouse-halfway-');
  const other = testTempDir('gatehouse-halfway-next-');
  await issue(pki, 'edge', { dns: ['localhost'], ips: ['127.0.0.1'], outDir: dir });
  await issue(pki, 'client', { usage: 'client', spiffe: 'spiffe://mesh.local/ns/edge/sa/gatehouse', outDir: dir });
  await issue(pki, 'server', { dns: ['localhost'], outDir: dir });
  await issue(pki, 'client', { usage: 'client', spiffe: 'spiffe://mesh.local/ns/edge/sa/gatehouse', outDir: other });
  const up = await mtlsUpstream(join(dir, 'server.crt'), join(dir, 'server.key'));
  const gw = await gateway(config(dir, up.address, 'one'));
  assert.equal((await h1(pki, gw.httpsPort, '/before')).status, 200);
  // the rotation job has written the new certificate but not yet its key
  const { copyFileSync } = await import('node:fs');
  copyFileSync(join(other, 'client.crt'), join(dir, 'client.crt'));
  const r = await gw.gw.reload('half-way rotation');
  assert.equal(r.ok, false);
  assert.match((r as { errors: string[] }).errors.join('\n'), /^clusters\[0\]\.tls: invalid certificate, key or CA: /m);
  const during = await h1(pki, gw.httpsPort, '/during');
  assert.equal(during.status, 200, during.body);
  // the key arrives: the pair agrees again and the reload goes through
  copyFileSync(join(other, 'client.key'), join(dir, 'client.key'));
  assert.equal((await gw.gw.reload('rotation complete')).ok, true);
  assert.equal((await h1(pki, gw.httpsPort, '/after')).headers['x-client-serial'], serialOf(readFileSync(join(other, 'client.crt'))));
});
