import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync, existsSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import https from 'node:https';
import { ROOT } from '../helpers/process.ts';
import { freePort } from '../helpers/net.ts';

// `npm start` end to end: the real config/gateway.yaml (ports and cert folder moved so the test
// runs anywhere), development certificates created on first start, the demo echo service reached
// over mutual TLS, Ctrl-C stops both cleanly.

test('npm start serves routed traffic through the mTLS demo upstream and stops on Ctrl-C', async () => {
  const [https1, http1, admin, echo] = await Promise.all([freePort(), freePort(), freePort(), freePort()]);
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-demo-'));
  const certs = join(dir, 'certs');
  const yaml = readFileSync(join(ROOT, 'config', 'gateway.yaml'), 'utf8')
    .replace('0.0.0.0:8443', `127.0.0.1:${https1}`)
    .replace('0.0.0.0:8080', `127.0.0.1:${http1}`)
    .replace('127.0.0.1:9901', `127.0.0.1:${admin}`)
    .replace('127.0.0.1:9443', `127.0.0.1:${echo}`)
    .replaceAll('certs/', `${certs}/`);
  const config = join(dir, 'gateway.yaml');
  writeFileSync(config, yaml);

  const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/start-demo.ts'], {
    cwd: ROOT,
    env: { ...process.env, GATEHOUSE_CONFIG: config, GATEHOUSE_CERTS: certs, GATEHOUSE_DEMO_PORT: String(echo) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let err = '';
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  await new Promise<void>((resolve, reject) => {
    child.stderr.on('data', (d) => {
      err += d;
      if (err.includes('gatehouse is up')) resolve();
    });
    void exited.then((c) => reject(new Error(`demo exited ${c}: ${err}`)));
  });
  child.stdout.resume();

  assert.ok(existsSync(join(certs, 'ca.crt')), 'development certificates were created');
  assert.equal(statSync(join(certs, 'edge.key')).mode & 0o777, 0o600);

  const body = await new Promise<string>((resolve, reject) => {
    https
      .get({ host: '127.0.0.1', port: https1, path: '/hello', ca: readFileSync(join(certs, 'ca.crt')), servername: 'localhost', headers: { host: 'localhost' } }, (res) => {
        let b = '';
        res.on('data', (d) => (b += d));
        res.on('end', () => (res.statusCode === 200 ? resolve(b) : reject(new Error(`status ${res.statusCode}: ${b}`))));
      })
      .on('error', reject);
  });
  const echoed = JSON.parse(body);
  assert.equal(echoed.service, 'echo');
  assert.equal(echoed.url, '/hello');
  assert.match(echoed.peerIdentity, /URI:spiffe:\/\/mesh\.local\/ns\/edge\/sa\/gatehouse/, 'the gateway presented its SPIFFE client certificate');

  child.kill('SIGINT');
  assert.equal(await exited, 0);
});
