import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import https from 'node:https';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import * as grpc from '@grpc/grpc-js';
import { testPki, type TestPki } from '../helpers/pki.ts';
import { startUpstream, type TestUpstream } from '../helpers/upstream.ts';
import { gatewayPreamble } from '../helpers/gateway.ts';
import { metric, runCli, spawnGateway, writeConfig, type GatewayProcess } from '../helpers/process.ts';
import { eventually, freePort } from '../helpers/net.ts';
import { h1 } from '../helpers/clients.ts';
import { keepAliveRequest } from '../helpers/traffic.ts';
import { healthClient } from '../helpers/grpc-health.ts';

// `--workers 2` as a real process tree: both workers serve, the primary answers readiness, gRPC
// health, /metrics and /stats for the whole group (aggregated), admin requests reach a worker, a
// reload reaches every worker, a killed worker is replaced, one that cannot start is retried with a
// growing backoff, and SIGTERM drains both before the primary exits 0.

let pki: TestPki;
let up: TestUpstream;

before(async () => {
  pki = await testPki();
  up = await startUpstream({ handler: (_req, res) => res.end(`ok ${process.pid}`) });
});
after(async () => {
  await up.close();
});

function config(grpcPort: number, extraRoute = ''): string {
  return `
grpcHealth: { address: "127.0.0.1:${grpcPort}" }
${gatewayPreamble(pki).replace('drain: { delay: 0s, timeout: 2s }', 'drain: { delay: 1s, timeout: 5s }')}
rateLimit:
  policies:
    - { name: counted, key: route, limit: 1000000, window: 1m }
virtualHosts:
  - name: main
    domains: ["*"]
    routes:
${extraRoute}
      - { name: all, match: { prefix: / }, rateLimits: [counted], route: { cluster: backend } }
clusters:
  - name: backend
    discovery: { type: static, endpoints: ["${up.address}"] }
    connectTimeout: 1s
`;
}

interface Readyz {
  ready: boolean;
  draining: boolean;
  workers: Array<{ slot: number; pid: number | null; ready: boolean; version: number | null; restarts: number }>;
}

async function readyz(adminPort: number): Promise<{ status: number; body: Readyz } | null> {
  const r = await fetch(`http://127.0.0.1:${adminPort}/readyz`).catch(() => null);
  return r ? { status: r.status, body: (await r.json()) as Readyz } : null;
}

/** Established TCP connections to `port` that process `pid` holds (Linux /proc). */
function connectionsHeldBy(pid: number, port: number): number {
  const inodes = new Set<string>();
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      const link = readlinkSync(`/proc/${pid}/fd/${fd}`);
      if (link.startsWith('socket:[')) inodes.add(link.slice(8, -1));
    } catch {
      /* closed meanwhile */
    }
  }
  const hexPort = `:${port.toString(16).toUpperCase().padStart(4, '0')}`;
  let n = 0;
  for (const file of ['tcp', 'tcp6']) {
    for (const line of readFileSync(`/proc/${pid}/net/${file}`, 'utf8').split('\n').slice(1)) {
      const cols = line.trim().split(/\s+/);
      if (cols.length > 9 && cols[1].endsWith(hexPort) && cols[3] === '01' && inodes.has(cols[9])) n++;
    }
  }
  return n;
}

/** The sum of every series of a metric on admin /metrics. */
async function seriesSum(adminPort: number, name: string): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${adminPort}/metrics`)).text();
  return text
    .split('\n')
    .filter((l) => l.startsWith(`${name}{`) || l.startsWith(`${name} `))
    .reduce((n, l) => n + Number(l.slice(l.lastIndexOf(' ') + 1)), 0);
}

function restartDelays(stderr: string): number[] {
  return stderr
    .split('\n')
    .filter((l) => l.includes('worker exited; starting another'))
    .map((l) => JSON.parse(l).restartInMs as number);
}

test('--workers 2: serve, aggregate, reload, replace, back off, drain', async () => {
  const grpcPort = await freePort();
  const cfg = await writeConfig(config(grpcPort));
  const gw: GatewayProcess = await spawnGateway(cfg.file, ['--workers', '2'], {}, 2);
  const health = healthClient(grpcPort);
  try {
    // Ready only when both are.
    await eventually(async () => (await readyz(cfg.adminPort))?.status === 200, 'the group is ready');
    const first = (await readyz(cfg.adminPort))!.body;
    assert.equal(first.workers.length, 2);
    assert.ok(first.workers.every((w) => w.ready && w.pid !== null && w.version === 1));
    const pids = first.workers.map((w) => w.pid!);

    // Both serve: 8 keep-alive connections, spread by node:cluster over both workers.
    const agent = new https.Agent({ keepAlive: true, maxSockets: 8 });
    const replies = await Promise.all(Array.from({ length: 8 }, () => keepAliveRequest(pki, agent, cfg.httpsPort, '/a')));
    assert.deepEqual(replies.map((r) => r.status), Array(8).fill(200));
    for (const pid of pids) assert.ok(connectionsHeldBy(pid, cfg.httpsPort) >= 1, `worker ${pid} holds client connections`);
    agent.destroy();
    for (let i = 0; i < 12; i++) assert.equal((await h1(pki, cfg.httpsPort, '/b')).status, 200);

    // /metrics: the primary aggregates both workers' registries, plus its own.
    await eventually(async () => (await metric(cfg.adminPort, 'gatehouse_ratelimit_allowed_total{policy="counted"}')) === 20, '20 requests counted once each');
    assert.equal(await seriesSum(cfg.adminPort, 'gatehouse_requests_total'), 20, 'gatehouse_requests_total of both workers');
    assert.equal(await metric(cfg.adminPort, 'gatehouse_workers_ready'), 2);
    // /stats (the dashboard's data): both workers' counters merged, not one worker's share.
    const stats = (await (await fetch(`http://127.0.0.1:${cfg.adminPort}/stats`)).json()) as { workers: number; routes: Array<{ name: string; requests: number }>; rateLimits: Array<{ policy: string; allowed: number }> };
    assert.equal(stats.workers, 2);
    assert.equal(stats.routes.find((r) => r.name === 'all')?.requests, 20, 'every request of both workers');
    assert.equal(stats.rateLimits.find((r) => r.policy === 'counted')?.allowed, 20);

    // gRPC health for the group, and admin requests answered by a worker through the primary.
    assert.deepEqual(await health.check(''), { status: 'SERVING' });
    assert.deepEqual(await health.check('cluster:backend'), { status: 'SERVING' });
    assert.deepEqual(await health.check('cluster:none'), { code: grpc.status.NOT_FOUND });
    const clusters = (await (await fetch(`http://127.0.0.1:${cfg.adminPort}/clusters`)).json()) as { clusters: Array<{ name: string }> };
    assert.deepEqual(clusters.clusters.map((c) => c.name), ['backend']);
    assert.match(await (await fetch(`http://127.0.0.1:${cfg.adminPort}/`)).text(), /<h1>gatehouse<\/h1>/);

    // A reload reaches every worker: by file change, then by SIGHUP to the primary.
    cfg.rewrite(config(grpcPort, '      - { name: new, match: { path: /new }, directResponse: { status: 200, body: "new" } }'));
    await eventually(async () => (await readyz(cfg.adminPort))?.body.workers.every((w) => w.version === 2) === true, 'both workers on version 2');
    for (let i = 0; i < 6; i++) assert.equal((await h1(pki, cfg.httpsPort, '/new')).body, 'new');
    gw.child.kill('SIGHUP');
    await eventually(async () => (await readyz(cfg.adminPort))?.body.workers.every((w) => w.version === 3) === true, 'both workers reloaded on SIGHUP');

    // A killed worker is replaced; the group is ready again with a new pid in that slot.
    process.kill(pids[0], 'SIGKILL');
    await eventually(async () => {
      const r = await readyz(cfg.adminPort);
      return r?.status === 200 && r.body.workers[0].pid !== pids[0] && r.body.workers[0].restarts === 1;
    }, 'worker 0 replaced and ready');
    for (let i = 0; i < 4; i++) assert.equal((await h1(pki, cfg.httpsPort, '/b')).status, 200);

    // A replacement that cannot start (the config went bad meanwhile; the running worker keeps its
    // last good one) is retried with a growing delay, and the group is not ready meanwhile.
    const watch = health.watch('');
    await eventually(() => watch.seen.length === 1, 'watching the group');
    cfg.rewrite('listeners: [not, a, config]\n');
    const before = restartDelays(gw.stderr()).length;
    const victim = (await readyz(cfg.adminPort))!.body.workers[1].pid!;
    process.kill(victim, 'SIGKILL');
    await eventually(() => restartDelays(gw.stderr()).length >= before + 3, 'three restarts', 30_000);
    const delays = restartDelays(gw.stderr()).slice(before, before + 3);
    assert.ok(delays[1] > delays[0] && delays[2] > delays[1], `growing backoff: ${delays.join(', ')}`);
    assert.equal((await readyz(cfg.adminPort))?.status, 503);
    await eventually(() => watch.seen.includes('NOT_SERVING'), 'group health NOT_SERVING while a worker is missing');
    assert.equal((await h1(pki, cfg.httpsPort, '/b')).status, 200, 'the other worker serves on');
    cfg.rewrite(config(grpcPort));
    await eventually(async () => (await readyz(cfg.adminPort))?.status === 200, 'ready again once the config is good', 60_000);
    await eventually(() => watch.seen.at(-1) === 'SERVING', 'group health SERVING again');

    // SIGTERM to the primary: not ready at once, both workers drain, the primary exits 0.
    const workerPids = (await readyz(cfg.adminPort))!.body.workers.map((w) => w.pid!);
    gw.child.kill('SIGTERM');
    await eventually(async () => (await readyz(cfg.adminPort))?.status === 503, 'not ready at once');
    await eventually(() => watch.seen.at(-1) === 'NOT_SERVING', 'NOT_SERVING at once');
    assert.equal((await h1(pki, cfg.httpsPort, '/b')).status, 200, 'still serving during drain.delay');
    assert.equal(await gw.exited, 0);
    for (const pid of workerPids) assert.throws(() => process.kill(pid, 0), /ESRCH/, `worker ${pid} is gone`);
    watch.cancel();
  } finally {
    health.close();
    if (gw.child.exitCode === null) await gw.kill('SIGKILL');
  }
});

test('--workers 2: a second SIGTERM kills the workers and exits non-zero at once', async () => {
  const grpcPort = await freePort();
  const cfg = await writeConfig(config(grpcPort).replace('drain: { delay: 1s, timeout: 5s }', 'drain: { delay: 60s, timeout: 30s }'));
  const gw = await spawnGateway(cfg.file, ['--workers', '2'], {}, 2);
  try {
    await eventually(async () => (await readyz(cfg.adminPort))?.status === 200, 'the group is ready');
    const pids = (await readyz(cfg.adminPort))!.body.workers.map((w) => w.pid!);
    gw.child.kill('SIGTERM');
    await eventually(async () => (await readyz(cfg.adminPort))?.body.draining === true, 'draining');
    gw.child.kill('SIGTERM');
    assert.equal(await gw.exited, 1);
    await eventually(() => pids.every((pid) => {
      try {
        process.kill(pid, 0);
        return false;
      } catch {
        return true;
      }
    }), 'the workers are gone');
  } finally {
    if (gw.child.exitCode === null) await gw.kill('SIGKILL');
  }
});

test('--workers 2 with an invalid config exits 1 with its errors, before forking', async () => {
  const cfg = await writeConfig(config(await freePort()).replace('connectTimeout: 1s', 'connectTimeout: soon'));
  const r = await runCli(['--config', cfg.file, '--workers', '2']);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /^clusters\[0\]\.connectTimeout: invalid duration "soon"/m);
  assert.doesNotMatch(r.stderr, /workers starting/);
});
