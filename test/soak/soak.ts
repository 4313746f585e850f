// `npm run soak [-- --duration 10m]` (default 2m): a gateway process under mixed traffic for a while,
// with faults injected on a schedule, and a leak check at the end (issue 15).
//
// Traffic (all over TLS, verified against the soak's own CA): HTTP/1.1 keep-alive and HTTP/2 to a route
// that needs an edge JWT, asks an ext_authz service (failureModeAllow) and splits 90/10 between two
// mTLS upstream versions (two endpoints each, retries on); a rate-limited route (429 is an expected
// answer there); a route the gateway takes from an xDS server; and WebSocket sessions to an echo service.
// Faults, one after the other, each healed before the next: an upstream endpoint killed and restarted,
// Redis killed and restarted, the JWKS server down, the client certificate rotated, the config reloaded,
// the xDS server killed and restarted, the ext_authz service down and back.
//
// It prints what was sent, the answers by class, the answers that should not have happened (must be 0),
// p50/p99, RSS and heap at the start and the end, and exits 1 on an unexpected answer or a leak.
import { parseArgs } from 'node:util';
import https from 'node:https';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { WebSocket, WebSocketServer } from 'ws';
import { initDevCerts } from '../../src/certs/dev-certs.ts';
import { parseDuration } from '../../src/config/duration.ts';
import { issue, type TestPki } from '../helpers/pki.ts';
import { startLoad, type LoadReport } from '../helpers/load.ts';
import { startRedis, type TestRedis } from '../helpers/redis.ts';
import { makeKey, sign, startJwksServer, type JwksServer } from '../helpers/authn-jwks.ts';
import { spawnGateway, writeConfig, memoryOf } from '../helpers/process.ts';
import { startGrpcAuthz, type TestGrpcAuthz } from '../helpers/ext-authz.ts';
import { startXdsServer } from '../helpers/xds-server.ts';
import { CDS, EDS, edsCluster, loadAssignment, RDS, routeConfig, routeTo } from '../helpers/xds-resources.ts';
import { idUpstream } from '../helpers/traffic.ts';
import { clusterTls } from '../helpers/config-text.ts';

interface SoakResult {
  durationS: number;
  sent: number;
  byClass: Record<string, number>;
  unexpected: number;
  unexpectedSamples: string[];
  p50Ms: number | null;
  p99Ms: number | null;
  websocket: { sessions: number; messages: number; failed: number };
  faults: string[];
  memory: { rssStartMB: number; rssEndMB: number; heapStartMB: number | null; heapEndMB: number | null };
  leak: string | null;
  /** Where the run's certificates, config and logs are (removed when the run passed). */
  dir: string;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const mb = (b: number) => Math.round((b / 1048576) * 10) / 10;

/** An upstream version endpoint: HTTPS, client certificate required, answers with its name. */
async function versionEndpoint(pki: TestPki, name: string, port = 0): Promise<{ port: number; close(): Promise<void> }> {
  const server = https.createServer(
    { cert: pki.read('upstream.crt'), key: pki.read('upstream.key'), ca: pki.read('ca.crt'), requestCert: true, rejectUnauthorized: true },
    (req, res) => {
      req.resume();
      req.on('end', () => {
        res.writeHead(200, { 'x-upstream': name, 'x-client': String((req.socket as TLSSocket).getPeerCertificate().serialNumber) });
        res.end(name);
      });
    },
  );
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((r) => server.listen(port, '127.0.0.1', () => r()));
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((r) => {
        server.close(() => r());
        server.closeAllConnections();
      }),
  };
}

async function wsEcho(pki: TestPki): Promise<{ port: number; close(): Promise<void> }> {
  const server = https.createServer({ cert: pki.read('upstream.crt'), key: pki.read('upstream.key'), ca: pki.read('ca.crt'), requestCert: true, rejectUnauthorized: true });
  const wss = new WebSocketServer({ server });
  wss.on('connection', (ws) => ws.on('message', (d, binary) => ws.send(d, { binary })));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((r) => {
        for (const c of wss.clients) c.terminate();
        wss.close();
        server.close(() => r());
        server.closeAllConnections();
      }),
  };
}

function config(pki: TestPki, dir: string, o: { v1: number[]; v2: number[]; ws: number; redis: string; jwksUri: string; authz: string; xds: string; marker: string }): string {
  const eps = (ports: number[]) => ports.map((p) => `"127.0.0.1:${p}"`).join(', ');
  const client = { certFile: join(dir, 'client.crt'), keyFile: join(dir, 'client.key') };
  const tls = `${clusterTls(pki, client)}
      matchSubjectAltNames: ["spiffe://mesh.local/ns/demo/sa/echo"]
    outlierDetection: { consecutive5xx: 5, consecutiveGatewayErrors: 2, interval: 500ms, baseEjectionTime: 2s, maxEjectionPercent: 50 }
    # every request cut by a killed endpoint may retry at once (Envoy's default budget of 3 would refuse some)
    circuitBreakers: { maxRetries: 64 }`;
  return `
admin: { address: "127.0.0.1:{{admin}}" }
accessLog: { path: ${JSON.stringify(join(dir, 'access.log'))} }
xds:
  server: "${o.xds}"
  node: { id: soak, cluster: edge }
  routeConfigs: [soak-xds]
  initialFetchTimeout: 5s
drain: { delay: 0s, timeout: 5s }
listeners:
  - name: public
    address: "127.0.0.1:{{https}}"
    tls:
      certificates:
        - { certFile: ${pki.file('edge.crt')}, keyFile: ${pki.file('edge.key')}, serverNames: ["localhost"] }
authn:
  providers:
    - { name: idp, issuer: "https://idp.test", audiences: [gatehouse-test], jwksUri: "${o.jwksUri}", algorithms: [ES256] }
rateLimit:
  store: redis
  redis: { url: "${o.redis}", keyPrefix: "soak:" }
  policies:
    - { name: per-ip, key: clientIp, limit: 1000000, window: 1s }
    - { name: tight, key: "header:x-client", limit: 20, window: 1s }
virtualHosts:
  - name: main
    domains: ["*"]
    rateLimits: [per-ip]
    routes:
      - name: ws
        match: { prefix: /ws }
        route: { cluster: ws, websocket: true }
      - name: limited
        match: { prefix: /limited }
        rateLimits: [tight]
        directResponse: { status: 200, body: "ok" }
      - name: shop
        match: { prefix: /shop }
        authn: { providers: [idp] }
        extAuthz: { grpc: { address: "${o.authz}" }, timeout: 500ms, failureModeAllow: true }
        route:
          weightedClusters: [{ cluster: v1, weight: 90 }, { cluster: v2, weight: 10 }]
          timeout: 5s
          retries: { attempts: 3, retryOn: [connect-failure, reset, refused-stream, "503"] }
          responseHeaders: { set: { x-config: "${o.marker}" } }
clusters:
  - name: v1
    discovery: { type: static, endpoints: [${eps(o.v1)}] }${tls}
  - name: v2
    discovery: { type: static, endpoints: [${eps(o.v2)}] }${tls}
  - name: ws
    discovery: { type: static, endpoints: ["127.0.0.1:${o.ws}"] }${clusterTls(pki, client)}
`;
}

/** WebSocket sessions one after the other: open, echo 5 messages, close. */
function wsLoop(pki: TestPki, port: number): { stop(): Promise<SoakResult['websocket'] & { failures: string[] }> } {
  let stopped = false;
  const out = { sessions: 0, messages: 0, failed: 0, failures: [] as string[] };
  const session = () =>
    new Promise<void>((resolve, reject) => {
      const ws = new WebSocket(`wss://localhost:${port}/ws`, { ca: pki.read('ca.crt') });
      // a session that neither finishes nor fails is a failure too (never a hung soak)
      const timer = setTimeout(() => {
        ws.terminate();
        reject(new Error(`session stuck after ${n} messages`));
      }, 10_000);
      ws.once('close', () => clearTimeout(timer));
      ws.once('error', () => clearTimeout(timer));
      let n = 0;
      ws.on('open', () => ws.send('m0'));
      ws.on('message', (d) => {
        if (d.toString() !== `m${n}`) return reject(new Error(`echo mismatch: ${d}`));
        out.messages++;
        if (++n === 5) ws.close(1000);
        else ws.send(`m${n}`);
      });
      ws.on('close', (code) => (n === 5 && code === 1000 ? resolve() : reject(new Error(`closed ${code} after ${n} messages`))));
      ws.on('error', reject);
    });
  const loop = (async () => {
    while (!stopped) {
      try {
        await session();
        out.sessions++;
      } catch (err) {
        out.failed++;
        if (out.failures.length < 10) out.failures.push((err as Error).message);
      }
      await sleep(20);
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

/** Heap used by the gateway process, from its own /metrics (prom-client's default metrics), or null. */
async function heapMB(adminPort: number): Promise<number | null> {
  try {
    const text = await (await fetch(`http://127.0.0.1:${adminPort}/metrics`)).text();
    const m = /^nodejs_heap_size_used_bytes(?:\{[^}]*\})? (\d+(?:\.\d+)?(?:e\+\d+)?)/m.exec(text);
    return m ? mb(Number(m[1])) : null;
  } catch {
    return null;
  }
}

export async function soak(durationMs: number, log: (s: string) => void = (s) => process.stderr.write(`${s}\n`)): Promise<SoakResult> {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-soak-'));
  await initDevCerts({ dir, ttlMs: 24 * 3_600_000, trustDomain: 'mesh.local', force: false });
  const pki: TestPki = { dir, file: (n) => join(dir, n), read: (n) => readFileSync(join(dir, n)) };
  await issue(pki, 'client', { usage: 'client', spiffe: 'spiffe://mesh.local/ns/edge/sa/gatehouse' });

  const stops: Array<() => Promise<unknown>> = [];
  let passed = false; // a passing run's directory (keys, logs) is removed; a failing one is kept to read
  try {
    const endpoints = await Promise.all(['v1-a', 'v1-b', 'v2-a', 'v2-b'].map((n) => versionEndpoint(pki, n)));
    stops.push(() => Promise.all(endpoints.map((e) => e.close())));
    const ws = await wsEcho(pki);
    stops.push(() => ws.close());
    const redis: TestRedis = await startRedis();
    stops.push(() => redis.stop());
    const key = await makeKey('soak', 'ec');
    const jwks: JwksServer = await startJwksServer([key]);
    stops.push(() => jwks.stop());
    let authz: TestGrpcAuthz = await startGrpcAuthz();
    const authzPort = authz.port;
    stops.push(() => authz.stop());
    const xdsBackend = await idUpstream('xds-backend');
    stops.push(() => xdsBackend.close());
    const xds = await startXdsServer();
    stops.push(() => xds.close());
    xds.set(CDS, [edsCluster('xds-backend')]);
    xds.set(EDS, [loadAssignment('xds-backend', [xdsBackend.address])]);
    xds.set(RDS, [routeConfig('soak-xds', [routeTo('/', 'xds-backend')], { domains: ['127.0.0.1'] })]);
    const tokens = await Promise.all(Array.from({ length: 200 }, (_, i) => sign(key, { sub: `user-${i}` }, { expIn: 24 * 3600 })));

    const cfgOf = (marker: string) =>
      config(pki, dir, { v1: [endpoints[0]!.port, endpoints[1]!.port], v2: [endpoints[2]!.port, endpoints[3]!.port], ws: ws.port, redis: redis.url, jwksUri: jwks.url, authz: `127.0.0.1:${authzPort}`, xds: xds.address, marker });
    const cfg = await writeConfig(cfgOf('m0'));
    const gw = await spawnGateway(cfg.file);
    stops.push(async () => {
      await gw.kill('SIGTERM');
      writeFileSync(join(dir, 'gateway.log'), gw.stderr()); // kept with the access log, for a failed run
    });
    const pid = gw.child.pid!;
    // serving starts before the first xDS routes arrive; readiness waits for them
    for (let i = 0; i < 100 && (await fetch(`http://127.0.0.1:${cfg.adminPort}/readyz`)).status !== 200; i++) await sleep(100);

    const shopOk = (s: number) => s === 200;
    const auth = (n: number) => ({ authorization: `Bearer ${tokens[n % tokens.length]}` });
    const loads = [
      startLoad({ port: cfg.httpsPort, pki, path: '/shop/cart', headers: auth, concurrency: 3, pauseMs: 5, ok: shopOk }),
      startLoad({ port: cfg.httpsPort, pki, path: '/shop/h2', headers: auth, concurrency: 3, pauseMs: 5, protocol: 'h2', ok: shopOk }),
      startLoad({ port: cfg.httpsPort, pki, path: '/limited', headers: { 'x-client': 'noisy' }, concurrency: 1, pauseMs: 5, ok: (s) => s === 200 || s === 429 }),
      startLoad({ port: cfg.httpsPort, pki, path: '/from-xds', headers: { host: '127.0.0.1' }, concurrency: 1, pauseMs: 5 }),
    ];
    const wsRun = wsLoop(pki, cfg.httpsPort);

    // warm up, then the starting memory; the heap is sampled every second, since one reading is
    // mostly garbage not yet collected: the lowest readings of a stretch are its live set
    await sleep(Math.min(5000, durationMs / 5));
    const rssStart = mb(memoryOf(pid).rss);
    const heapSamples: number[] = [];
    const sampler = setInterval(() => {
      void heapMB(cfg.adminPort).then((h) => h !== null && heapSamples.push(h));
    }, 1000);

    // faults on a schedule, each healed before the next; the last slot of the run is fault-free
    let marker = 0;
    const faults: Array<{ name: string; inject(): Promise<void>; heal(): Promise<void> }> = [
      {
        name: 'upstream endpoint v1-b killed',
        inject: () => endpoints[1]!.close(),
        heal: async () => {
          endpoints[1] = await versionEndpoint(pki, 'v1-b', endpoints[1]!.port);
        },
      },
      { name: 'Redis killed', inject: () => redis.stop(), heal: () => redis.restart() },
      { name: 'JWKS server down', inject: () => jwks.stop(), heal: async () => undefined },
      {
        name: 'client certificate rotated',
        inject: async () => {
          await issue(pki, 'client', { usage: 'client', spiffe: 'spiffe://mesh.local/ns/edge/sa/gatehouse' });
        },
        heal: async () => undefined,
      },
      {
        name: 'config reloaded',
        inject: async () => cfg.rewrite(cfgOf(`m${++marker}`)),
        heal: async () => undefined,
      },
      { name: 'xDS server killed', inject: () => xds.kill(), heal: () => xds.restart() },
      {
        name: 'ext_authz service down',
        inject: () => authz.stop(),
        heal: async () => {
          authz = await startGrpcAuthz({ port: authzPort });
        },
      },
      {
        name: 'upstream endpoint v2-a killed',
        inject: () => endpoints[2]!.close(),
        heal: async () => {
          endpoints[2] = await versionEndpoint(pki, 'v2-a', endpoints[2]!.port);
        },
      },
    ];
    const injected: string[] = [];
    const slot = Math.max(1000, Math.min(30_000, durationMs / (faults.length + 2)));
    const started = Date.now();
    for (let i = 0; Date.now() - started + slot < durationMs - slot; i++) {
      const f = faults[i % faults.length]!;
      log(`soak: ${new Date().toISOString()} ${f.name}`);
      injected.push(f.name);
      await f.inject();
      await sleep(slot / 2);
      await f.heal();
      await sleep(slot / 2);
    }
    const left = durationMs - (Date.now() - started);
    if (left > 0) await sleep(left);

    const reports: LoadReport[] = await Promise.all(loads.map((l) => l.stop()));
    const wsOut = await wsRun.stop();
    await sleep(3000); // idle: a few more heap samples with the traffic gone
    clearInterval(sampler);
    const rssEnd = mb(memoryOf(pid).rss);
    const third = Math.max(1, Math.floor(heapSamples.length / 3));
    const floor = (xs: number[]) => (xs.length ? Math.min(...xs) : null);
    const heapStart = floor(heapSamples.slice(0, third));
    const heapEnd = floor(heapSamples.slice(-third));

    const byClass: Record<string, number> = {};
    for (const r of reports) {
      for (const [k, v] of Object.entries(r.byStatus)) {
        const cls = k === 'error' ? 'error' : `${k[0]}xx`;
        byClass[cls] = (byClass[cls] ?? 0) + v;
      }
    }
    const unexpected = reports.reduce((n, r) => n + r.failed, 0) + wsOut.failed;
    // A leak shows as growth that does not come back once the traffic stops: allow the working set
    // to settle (pools, caches, JIT) but not to keep growing with the run.
    const heapGrowth = heapStart !== null && heapEnd !== null ? heapEnd - heapStart : null;
    const leak =
      heapGrowth !== null && heapGrowth > 32 + heapStart! * 0.5
        ? `heap grew from ${heapStart} MB to ${heapEnd} MB`
        : rssEnd > rssStart * 1.5 + 64
          ? `RSS grew from ${rssStart} MB to ${rssEnd} MB`
          : null;
    const main = reports[0]!;
    passed = unexpected === 0 && leak === null;
    return {
      dir,
      durationS: Math.round((Date.now() - started) / 1000),
      sent: reports.reduce((n, r) => n + r.sent, 0),
      byClass,
      unexpected,
      unexpectedSamples: [...reports.flatMap((r) => r.failures), ...wsOut.failures].slice(0, 20),
      p50Ms: main.p50Ms,
      p99Ms: main.p99Ms,
      websocket: { sessions: wsOut.sessions, messages: wsOut.messages, failed: wsOut.failed },
      faults: injected,
      memory: { rssStartMB: rssStart, rssEndMB: rssEnd, heapStartMB: heapStart, heapEndMB: heapEnd },
      leak,
    };
  } finally {
    for (const s of stops.reverse()) await s().catch(() => undefined);
    if (passed) rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1]?.endsWith('soak.ts')) {
  const { values } = parseArgs({ options: { duration: { type: 'string', default: '2m' } } });
  const ms = parseDuration(values.duration!);
  if (ms === null || ms < 5000) {
    process.stderr.write('usage: npm run soak [-- --duration 10m]   (at least 5s)\n');
    process.exit(2);
  }
  const r = await soak(ms);
  process.stdout.write(
    [
      `soak: ${r.durationS} s, ${r.sent} requests sent, answers by class ${JSON.stringify(r.byClass)}`,
      `unexpected answers: ${r.unexpected}${r.unexpectedSamples.length ? ` (${r.unexpectedSamples.join(' | ')})` : ''}`,
      `latency (/shop, HTTP/1.1): p50 ${r.p50Ms?.toFixed(2)} ms, p99 ${r.p99Ms?.toFixed(2)} ms`,
      `websocket: ${r.websocket.sessions} sessions, ${r.websocket.messages} messages, ${r.websocket.failed} failed`,
      `faults: ${r.faults.join(', ') || 'none (run too short)'}`,
      `memory: RSS ${r.memory.rssStartMB} → ${r.memory.rssEndMB} MB, heap ${r.memory.heapStartMB ?? '?'} → ${r.memory.heapEndMB ?? '?'} MB`,
      `leak check: ${r.leak ?? 'ok'}`,
      ...(r.unexpected === 0 && r.leak === null ? [] : [`certificates, config, gateway and access logs kept in ${r.dir}`]),
      '',
    ].join('\n'),
  );
  process.exit(r.unexpected === 0 && r.leak === null ? 0 : 1);
}
