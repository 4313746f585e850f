import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Etcd3 } from 'etcd3';
import * as grpc from '@grpc/grpc-js';
import { Agent, request } from 'undici';
import { grpcService, TypeUrls, type AnyMessage } from '../../src/grpc/protos.ts';
import { freePort, sleep } from '../lib/net.ts';
import { tail, which } from '../lib/procs.ts';
import { median } from '../lib/report.ts';
import { upstreamMtls } from '../services/workers.ts';
import { checkServerIdentity, type PeerCertificate } from 'node:tls';
import { nodeArgs } from '../services/gatehouse.ts';
import type { BenchContext, ExtraDef, ExtraRow, RatioDef, Scenario, ServiceDef } from '../lib/types.ts';

// Issue 16, "Benchmark": time from an etcd write to the first request served by the new route on a
// subscribed gatehouse (p50/p99 over 50 changes), with 1,000 services registered.
//
// One extra (a latency measurement, not load). It starts its own throwaway etcd, the control plane
// (`gatehouse control-plane`, pinned to the server-under-test core), an mTLS upstream and a gatehouse
// whose only routes come from the control plane (xds: routeConfigs [gatehouse]). It registers
// N services (each exposed on svc-<i>.bench.test, one version whose static endpoint is the upstream,
// identity = the upstream certificate's SPIFFE ID), then makes C changes one after the other: each
// writes a NEW service document straight into etcd (exposed on change-<i>.bench.test) and measures
//   push   = etcd write → a subscribed ADS client (in the harness) receives a RouteConfiguration with it
//   served = etcd write → the first 200 from gatehouse for Host: change-<i>.bench.test (polled every 2 ms
//            over one keep-alive connection; requests before that get 404)
// A gateway build without an xDS client refuses `xds:`; then only the push rows are reported.
// BENCH_CP_SERVICES / BENCH_CP_CHANGES override N (1,000; BENCH_QUICK 100) and C (50; quick 10).

export const services: ServiceDef[] = [];
export const scenarios: Scenario[] = [];
export const ratios: RatioDef[] = [];

const IDENTITY = 'spiffe://mesh.local/ns/demo/sa/echo'; // the SAN of certs init's upstream.crt

function count(env: string, normal: number, quick: number, ctx: BenchContext): number {
  const v = Number(process.env[env]);
  return Number.isInteger(v) && v > 0 ? v : ctx.opts.quick ? quick : normal;
}

function percentile(xs: number[], p: number): number | null {
  if (xs.length === 0) return null;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]!;
}

const round = (x: number | null) => (x === null ? null : Math.round(x * 10) / 10);

/** A subscribed ADS client: resolves `until(domain)` when a pushed RouteConfiguration has that domain. */
function adsProbe(address: string) {
  const Ctor = grpcService('envoy.service.discovery.v3.AggregatedDiscoveryService');
  const client = new Ctor(address, grpc.credentials.createInsecure(), { 'grpc.max_receive_message_length': 256 * 1024 * 1024 });
  const stream = (client as any).StreamAggregatedResources() as grpc.ClientDuplexStream<object, { version_info: string; nonce: string; resources: AnyMessage[] }>;
  // The probe must not add its own decoding time: it looks for the domain in the encoded bytes
  // (protobuf strings are plain UTF-8), which is enough to know the route arrived.
  let latest: Buffer[] = [];
  const has = (domain: string) => latest.some((b) => b.includes(domain));
  let waiter: { domain: string; resolve: (t: number) => void } | null = null;
  stream.on('data', (res) => {
    const at = performance.now();
    stream.write({ type_url: TypeUrls.routeConfiguration, resource_names: ['gatehouse'], version_info: res.version_info, response_nonce: res.nonce });
    latest = res.resources.map((r: AnyMessage) => Buffer.from(r.value));
    if (waiter && has(waiter.domain)) {
      waiter.resolve(at);
      waiter = null;
    }
  });
  stream.on('error', () => undefined);
  stream.write({ node: { id: 'bench-probe', cluster: 'bench' }, type_url: TypeUrls.routeConfiguration, resource_names: ['gatehouse'] });
  return {
    until: (domain: string, timeoutMs: number) =>
      new Promise<number | null>((resolve) => {
        if (has(domain)) return resolve(performance.now());
        const timer = setTimeout(() => resolve(null), timeoutMs);
        waiter = { domain, resolve: (t) => (clearTimeout(timer), resolve(t)) };
      }),
    close: () => {
      stream.cancel();
      client.close();
    },
  };
}

function serviceDoc(name: string, upstream: string): string {
  return JSON.stringify({
    name,
    namespace: 'bench',
    identity: IDENTITY,
    versions: [{ name: 'v1', weight: 100, endpoints: [upstream] }],
    expose: [{ domains: [`${name}.bench.test`], prefix: '/' }],
  });
}

export const extras: ExtraDef[] = [
  {
    id: 'controlplane-propagation',
    title: 'control plane: etcd write → route served',
    async run(ctx, where): Promise<ExtraRow[]> {
      const etcdBin = which('etcd');
      if (!etcdBin) throw new Error('etcd is not installed (Debian: etcd-server)');
      const n = count('BENCH_CP_SERVICES', 1000, 100, ctx);
      const changes = count('BENCH_CP_CHANGES', 50, 10, ctx);
      const dir = join(ctx.tmp, 'controlplane');
      mkdirSync(dir, { recursive: true });

      // etcd (load-generator side: it is the store, not the system under test)
      const [clientPort, peerPort, xdsPort, registryPort, httpsPort, adminPort] = await Promise.all([freePort(), freePort(), freePort(), freePort(), freePort(), freePort()]);
      const endpoint = `http://127.0.0.1:${clientPort}`;
      const etcdLog = join(dir, 'etcd.log');
      ctx.procs.spawn('etcd', etcdBin, [
        '--name', 'bench', '--data-dir', join(dir, 'etcd-data'), '--logger', 'zap', '--log-level', 'error',
        '--listen-client-urls', endpoint, '--advertise-client-urls', endpoint,
        '--listen-peer-urls', `http://127.0.0.1:${peerPort}`, '--initial-advertise-peer-urls', `http://127.0.0.1:${peerPort}`,
        '--initial-cluster', `bench=http://127.0.0.1:${peerPort}`,
      ], { cwd: dir, cpu: null, logFile: etcdLog });
      const etcd = new Etcd3({ hosts: endpoint });
      const until = Date.now() + 20_000;
      for (;;) {
        try {
          await etcd.get('probe').exec();
          break;
        } catch (err) {
          if (Date.now() > until) throw new Error(`etcd did not start: ${(err as Error).message}\n${tail(etcdLog)}`);
          await sleep(100);
        }
      }

      const upstream = await upstreamMtls.start(ctx, {});
      const upstreamAddr = new URL(upstream.origin).host;

      // the registry: N services, written straight into etcd
      const t0 = performance.now();
      for (let i = 0; i < n; i += 100) {
        await Promise.all(Array.from({ length: Math.min(100, n - i) }, (_, k) => etcd.put(`/gatehouse/services/svc-${i + k}`).value(serviceDoc(`svc-${i + k}`, upstreamAddr)).exec()));
      }
      const seedMs = performance.now() - t0;

      // the control plane, on the SUT core
      const cpConfig = join(dir, 'control-plane.yaml');
      writeFileSync(
        cpConfig,
        `xds: { address: "127.0.0.1:${xdsPort}" }
source: { etcd: { endpoints: ["${endpoint}"], prefix: "/gatehouse/" } }
registry: { address: "127.0.0.1:${registryPort}" }
clusterTls: { certFile: ${JSON.stringify(join(ctx.certDir, 'gatehouse.crt'))}, keyFile: ${JSON.stringify(join(ctx.certDir, 'gatehouse.key'))}, caFile: ${JSON.stringify(join(ctx.certDir, 'ca.crt'))} }
`,
      );
      const cpLog = join(dir, 'control-plane.log');
      ctx.procs.spawn('control-plane', process.execPath, [join(ctx.root, 'bin', 'gatehouse.js'), 'control-plane', '--config', cpConfig], {
        cwd: ctx.root,
        cpu: where.cpu,
        logFile: cpLog,
        env: { ...process.env, GATEHOUSE_LOG_LEVEL: 'warn' },
      });
      const registry = `http://127.0.0.1:${registryPort}`;
      const readyBy = Date.now() + 60_000;
      for (;;) {
        try {
          const status = (await (await fetch(`${registry}/status`)).json()) as { snapshotVersion: string | null };
          if (status.snapshotVersion !== null) break;
        } catch {
          // not yet
        }
        if (Date.now() > readyBy) throw new Error(`the control plane did not compile a snapshot:\n${tail(cpLog)}`);
        await sleep(100);
      }
      const probe = adsProbe(`127.0.0.1:${xdsPort}`);
      if ((await probe.until(`svc-${n - 1}.bench.test`, 60_000)) === null) throw new Error('the ADS probe never saw the seeded routes');

      // the gateway, following the control plane only
      const gwConfig = join(dir, 'gateway.yaml');
      writeFileSync(
        gwConfig,
        `admin: { address: "127.0.0.1:${adminPort}" }
accessLog: { path: /dev/null }
drain: { delay: 0s, timeout: 2s }
listeners:
  - name: public
    address: "127.0.0.1:${httpsPort}"
    tls: { certificates: [{ certFile: ${JSON.stringify(join(ctx.certDir, 'edge.crt'))}, keyFile: ${JSON.stringify(join(ctx.certDir, 'edge.key'))}, serverNames: ["localhost"] }], http2: false }
xds: { server: "127.0.0.1:${xdsPort}", node: { id: bench-gatehouse, cluster: bench }, routeConfigs: [gatehouse], initialFetchTimeout: 60s }
`,
      );
      const gwLog = join(dir, 'gatehouse.log');
      const gw = ctx.procs.spawn('gatehouse-xds', process.execPath, [...nodeArgs(), join(ctx.root, 'bin', 'gatehouse.js'), '--config', gwConfig], { cwd: ctx.root, cpu: null, logFile: gwLog });
      // undici takes the Host header as the name to verify; the edge certificate is for localhost
      const agent = new Agent({
        connect: { ca: ctx.caPem, servername: 'localhost', checkServerIdentity: (_host: string, cert: PeerCertificate) => checkServerIdentity('localhost', cert) },
        connections: 1,
        pipelining: 1,
      });
      let lastAnswer = '';
      const get = async (host: string): Promise<number> => {
        try {
          const r = await request(`https://127.0.0.1:${httpsPort}/`, { dispatcher: agent, headers: { host }, headersTimeout: 5_000, bodyTimeout: 5_000 });
          lastAnswer = `${r.statusCode} ${(await r.body.text()).slice(0, 160)}`;
          return r.statusCode;
        } catch (err) {
          lastAnswer = (err as Error).message;
          return 0;
        }
      };
      let gateway = true;
      let gatewayNote = '';
      const gwBy = Date.now() + 90_000;
      while ((await get(`svc-${n - 1}.bench.test`)) !== 200) {
        if (gw.exitCode !== null || Date.now() > gwBy) {
          gateway = false;
          gatewayNote = `gatehouse did not serve the control plane's routes (${gw.exitCode !== null ? `exited ${gw.exitCode}` : 'timeout'}; last answer: ${lastAnswer}): ${tail(gwLog, 3).replace(/\s+/g, ' ').slice(0, 200)}`;
          break;
        }
        await sleep(100);
      }

      // the measured changes
      const push: number[] = [];
      const served: number[] = [];
      for (let i = 0; i < changes; i++) {
        const name = `change-${i}`;
        const domain = `${name}.bench.test`;
        const start = performance.now();
        await etcd.put(`/gatehouse/services/${name}`).value(serviceDoc(name, upstreamAddr)).exec();
        const pushed = probe.until(domain, 30_000);
        if (gateway) {
          const by = performance.now() + 30_000;
          while ((await get(domain)) !== 200) {
            if (performance.now() > by) throw new Error(`change ${i}: gatehouse never served ${domain}`);
            await sleep(2);
          }
          served.push(performance.now() - start);
        }
        const at = await pushed;
        if (at === null) throw new Error(`change ${i}: no RouteConfiguration with ${domain} within 30 s`);
        push.push(at - start);
        await sleep(50); // let the system settle between changes
      }
      probe.close();
      await agent.close();
      etcd.close();

      const scale = `${n.toLocaleString('en-US')} services registered, ${changes} changes`;
      const rows: ExtraRow[] = [
        { id: 'push-p50', title: `etcd write → RouteConfiguration pushed to a subscriber, p50 (${scale})`, value: round(median(push)), unit: 'ms', samples: push.map((x) => round(x)!), target: { max: 1000, source: 'SPEC: within a second' } },
        { id: 'push-p99', title: `etcd write → RouteConfiguration pushed, p99`, value: round(percentile(push, 99)), unit: 'ms', target: { max: 1000, source: 'SPEC: within a second' } },
        {
          id: 'served-p50',
          title: gateway
            ? `etcd write → first request served by the new route on gatehouse, p50 (${scale})`
            : `etcd write → first request served on gatehouse: not measured (${gatewayNote})`,
          value: gateway ? round(median(served)) : null,
          unit: 'ms',
          samples: served.map((x) => round(x)!),
          ...(gateway ? {} : { notes: gatewayNote }),
        },
        { id: 'served-p99', title: 'etcd write → first request served, p99', value: gateway ? round(percentile(served, 99)) : null, unit: 'ms', ...(gateway ? {} : { notes: gatewayNote }) },
        { id: 'seed', title: `writing ${n.toLocaleString('en-US')} service documents to etcd (setup, for scale)`, value: round(seedMs), unit: 'ms' },
      ];
      return rows;
    },
  },
];
