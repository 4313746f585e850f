import type { RatioDef, Scenario, ServiceDef } from '../lib/types.ts';

// Issue 6, "Benchmark": mTLS upstream vs plain upstream throughput — gatehouse → mTLS upstream
// (client certificate, upstream verified against the dev CA, TLSv1.3) ÷ gatehouse → plain upstream,
// both HTTP/1.1 TLS from the client. The two scenarios are proxy.ts's (gatehouse-h1-mtls and
// gatehouse-h1-tls); selecting this group alone (`--group upstreams`) runs them.
// The other half of the benchmark, pick() cost of every balancer at 3 and 1,000 endpoints,
// is a micro-benchmark: bench/micro/balancers.micro.ts (`node --import tsx bench/micro.ts balancers`).

export const services: ServiceDef[] = [];
export const scenarios: Scenario[] = [];
export const ratios: RatioDef[] = [
  {
    id: 'gatehouse-mtls-vs-plain-upstream',
    title: 'gatehouse → mTLS upstream ÷ gatehouse → plain upstream (HTTP/1.1 TLS in)',
    numerator: 'gatehouse-h1-mtls',
    denominator: 'gatehouse-h1-tls',
  },
];
