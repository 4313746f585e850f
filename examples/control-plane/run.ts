// One command: etcd, the gatehouse control plane, three demo instances (catalog v1, hello v1 and
// hello v2) and a gatehouse replica that takes everything from the control plane.
//   npm run example:control-plane        (Ctrl-C stops everything)
// The registry: http://127.0.0.1:9903/ · the gateway: https://localhost:8443/ · its admin: http://127.0.0.1:9901/
// etcd listens on 127.0.0.1:23790 with a throwaway data dir (removed on exit).
import { spawn, type ChildProcess } from 'node:child_process';
import https from 'node:https';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { ensureDevCerts, issueCert } from '../../src/certs/dev-certs.ts';

const ROOT = resolve(import.meta.dirname, '..', '..');
const HERE = join(ROOT, 'examples', 'control-plane');
const CERTS = join(ROOT, 'certs');
const REGISTRY = 'http://127.0.0.1:9903';
const children: Array<{ name: string; proc: ChildProcess }> = [];

function start(name: string, cmd: string, args: string[], readyText?: string): Promise<ChildProcess> {
  const proc = spawn(cmd, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, GATEHOUSE_LOG_LEVEL: process.env.GATEHOUSE_LOG_LEVEL ?? 'info' } });
  children.push({ name, proc });
  let ready = readyText === undefined;
  return new Promise((resolvePromise, reject) => {
    const onData = (d: Buffer) => {
      for (const line of d.toString().split('\n')) if (line.trim() !== '') process.stderr.write(`[${name}] ${line}\n`);
      if (!ready && readyText && d.toString().includes(readyText)) {
        ready = true;
        resolvePromise(proc);
      }
    };
    proc.stdout!.on('data', onData);
    proc.stderr!.on('data', onData);
    proc.once('error', reject);
    proc.once('exit', (code) => {
      if (!ready) reject(new Error(`${name} exited (${code}) before it was ready`));
      else if (!stopping) process.stderr.write(`[${name}] exited (${code})\n`);
    });
    if (ready) resolvePromise(proc);
  });
}

let stopping = false;
let dataDir = '';
async function stopAll(code: number): Promise<never> {
  stopping = true;
  for (const { proc } of [...children].reverse()) {
    if (proc.exitCode === null && proc.signalCode === null) {
      const gone = new Promise((r) => proc.once('exit', r));
      proc.kill('SIGTERM');
      await Promise.race([gone, new Promise((r) => setTimeout(r, 5000))]);
    }
  }
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  process.exit(code);
}
process.on('SIGINT', () => void stopAll(0));
process.on('SIGTERM', () => void stopAll(0));

async function waitForHealth(url: string, what: string): Promise<void> {
  for (let i = 0; i < 100; i++) {
    try {
      if ((await fetch(url, { signal: AbortSignal.timeout(1000) })).ok) return;
    } catch {
      // not yet
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`${what} did not come up`);
}

/** Until the gateway answers `path` with a 2xx (its routes came from the control plane). */
async function waitForRoute(path: string, what: string): Promise<void> {
  const ca = readFileSync(join(CERTS, 'ca.crt'));
  for (let i = 0; i < 100; i++) {
    const status = await new Promise<number>((resolve) => {
      https
        .get({ host: '127.0.0.1', port: 8443, path, servername: 'localhost', headers: { host: 'localhost' }, ca, timeout: 2000 }, (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        })
        .on('error', () => resolve(0));
    });
    if (status >= 200 && status < 300) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`${what}: not within 20 s`);
}

try {
  if (await ensureDevCerts(CERTS)) process.stderr.write(`created development certificates in ${CERTS}/\n`);
  for (const service of ['catalog', 'hello']) {
    if (existsSync(join(CERTS, `${service}.crt`))) continue;
    await issueCert({ caDir: CERTS, name: service, out: CERTS, dns: ['localhost'], ips: ['127.0.0.1'], spiffe: `spiffe://mesh.local/ns/demo/sa/${service}`, ttlMs: 7 * 86_400_000, usage: 'server' });
  }

  dataDir = mkdtempSync(join(tmpdir(), 'gatehouse-example-etcd-'));
  await start('etcd', 'etcd', [
    '--name', 'example', '--data-dir', join(dataDir, 'data'), '--logger', 'zap', '--log-level', 'error',
    '--listen-client-urls', 'http://127.0.0.1:23790', '--advertise-client-urls', 'http://127.0.0.1:23790',
    '--listen-peer-urls', 'http://127.0.0.1:23800', '--initial-advertise-peer-urls', 'http://127.0.0.1:23800',
    '--initial-cluster', 'example=http://127.0.0.1:23800',
  ]);
  await waitForHealth('http://127.0.0.1:23790/health', 'etcd');

  const bin = join(ROOT, 'bin', 'gatehouse.js');
  await start('control-plane', process.execPath, [bin, 'control-plane', '--config', join(HERE, 'control-plane.yaml')], 'gatehouse control plane serving');

  // catalog is registered from the start, so the gateway has a route right away; hello is yours to register.
  const catalog = await fetch(`${REGISTRY}/services/catalog`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: readFileSync(join(HERE, 'catalog.json')) });
  if (!catalog.ok) throw new Error(`registering catalog: ${catalog.status} ${await catalog.text()}`);

  const demo = (service: string, version: string, port: number) =>
    start(`${service}-${version}`, process.execPath, ['--import', 'tsx', join(HERE, 'demo-service.ts'), '--service', service, '--version', version, '--port', String(port), '--certs', CERTS], 'listening on');
  await Promise.all([demo('catalog', 'v1', 9550), demo('hello', 'v1', 9551), demo('hello', 'v2', 9552)]);

  await start('gatehouse', process.execPath, [bin, '--config', join(HERE, 'gateway.yaml')], 'gatehouse serving');
  await waitForRoute('/catalog/', 'the gateway routing /catalog from the control plane');

  process.stderr.write(`
────────────────────────────────────────────────────────────────────────────
Everything is up. The registry: ${REGISTRY}/   The gateway: https://localhost:8443/
  curl -k https://localhost:8443/catalog/items                     # catalog, routed by the control plane
  curl -k https://localhost:8443/hello                             # 404: hello is not registered yet
  curl -X PUT ${REGISTRY}/services/hello -H 'content-type: application/json' \\
       --data @examples/control-plane/hello.json                  # register it (v1 100, v2 0)
  curl -k https://localhost:8443/hello                             # within a second: hello v1
Shift the canary (see README "Control plane walkthrough"), watch ${REGISTRY}/ . Ctrl-C stops everything.
────────────────────────────────────────────────────────────────────────────
`);
} catch (err) {
  process.stderr.write(`example failed: ${(err as Error).message}\n`);
  await stopAll(1);
}
