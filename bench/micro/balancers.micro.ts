import { balancers } from '../../src/upstream/balancers/index.ts';
import type { Endpoint } from '../../src/upstream/endpoint.ts';
import type { MicroCase, MicroSuite } from '../micro.ts';

// pick() of every registered balancer over 3, 100 and 1,000 endpoints (issue 6: "pick() cost for each
// balancer at 3 and at 1,000 endpoints"); new balancers are picked up from the registry. Endpoints
// are plain objects with an Endpoint's live fields: no connection pools. Each pick gets one of 64
// hash keys in turn (ring_hash / maglev hash it; the others ignore it).

/** The fields of Endpoint a balancer reads, in a class shaped like Endpoint (same hidden class per object). */
class FakeEndpoint {
  readonly address: string;
  readonly port = 8080;
  active = 0;
  healthy = true;
  ejected = false;
  constructor(
    readonly host: string,
    public weight: number,
  ) {
    this.address = `${host}:8080`;
  }
  get available(): boolean {
    return this.healthy && !this.ejected;
  }
}

function endpoints(n: number, weight: (i: number) => number): Endpoint[] {
  return Array.from({ length: n }, (_, i) => new FakeEndpoint(`10.0.${i >> 8}.${i & 255}`, weight(i)) as unknown as Endpoint);
}

const cases: MicroCase[] = [];
for (const [policy, make] of balancers) {
  for (const [label, eps] of [
    ['3 equal', endpoints(3, () => 1)],
    ['3 weighted 5:3:1', endpoints(3, (i) => [5, 3, 1][i]!)],
    ['100 equal', endpoints(100, () => 1)],
    ['1,000 equal', endpoints(1000, () => 1)],
    ['1,000 weighted 1..10', endpoints(1000, (i) => 1 + (i % 10))],
  ] as const) {
    const b = make();
    b.update(eps);
    let k = 0;
    const keys = Array.from({ length: 64 }, (_, i) => `client-${i}`);
    cases.push({ name: `${policy} pick, ${label}`, fn: () => b.pick({ hashKey: keys[k++ & 63] }) });
  }
}

export const suite: MicroSuite = { name: 'balancers', cases };
