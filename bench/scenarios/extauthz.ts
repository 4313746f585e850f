import { gatehouseService } from '../services/gatehouse.ts';
import { extAuthzOk } from '../services/workers.ts';
import type { RatioDef, Scenario, ServiceDef } from '../lib/types.ts';

// Issue 14, "Benchmark": throughput with a local ext_authz service answering OK vs extAuthz off, in one
// run; the added p50/p99 is the difference of the two rows' latencies.
//
// One gatehouse process with two routes to the same upstream that differ only by `extAuthz`: /open
// (none) and /checked (one Check per request over a warm gRPC channel to bench/workers/ext-authz.ts,
// which allows and adds one header). The authorization service runs on the load-generator core, as
// its CPU is the dependency's, not the proxy's.
//   extauthz-off  GET /open
//   extauthz-on   GET /checked

export const services: ServiceDef[] = [
  extAuthzOk,
  gatehouseService({
    id: 'gatehouse-extauthz',
    title: 'gatehouse → plain upstream, /open and /checked (ext_authz over gRPC, local service answering OK)',
    upstream: 'upstream-plain',
    mtls: false,
    needs: ['ext-authz-ok'],
    extraRoutes: (_ctx, deps) => `      - { name: open, match: { prefix: /open }, route: { cluster: upstream, timeout: 10s } }
      - name: checked
        match: { prefix: /checked }
        extAuthz: { grpc: { address: "${new URL(deps['ext-authz-ok']!.origin).host}" }, timeout: 1s }
        route: { cluster: upstream, timeout: 10s }`,
  }),
];

const common = { system: 'gatehouse', protocol: 'http1' as const, rounds: 3, durationS: 5, sut: 'gatehouse-extauthz' };

export const scenarios: Scenario[] = [
  { id: 'extauthz-off', title: 'gatehouse, route without ext_authz (/open), TLS → plain', path: '/open', ...common },
  { id: 'extauthz-on', title: 'gatehouse, route with ext_authz (local gRPC service answering OK)', path: '/checked', ...common },
];

export const ratios: RatioDef[] = [
  { id: 'extauthz-on-vs-off', title: 'ext_authz on (local service, OK) ÷ off', numerator: 'extauthz-on', denominator: 'extauthz-off' },
];
