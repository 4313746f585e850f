import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { Endpoint } from '../../src/upstream/endpoint.ts';
import { balancers } from '../../src/upstream/balancers/index.ts';
import type { Balancer } from '../../src/upstream/balancers/index.ts';
import { MaglevBalancer } from '../../src/upstream/balancers/maglev.ts';
import { cookieValue, compileHashKey } from '../../src/upstream/hash-key.ts';

// Balancer properties over many picks: weighted distribution, stickiness of hash policies, and
// ring_hash's minimal disruption. Endpoints are real (their pools connect lazily and never do here).

const made: Endpoint[] = [];
after(async () => {
  await Promise.all(made.map((e) => e.close()));
});

function endpoints(n: number, weights?: number[]): Endpoint[] {
  const eps = Array.from({ length: n }, (_, i) => {
    const e = new Endpoint('10.0.0.' + (i + 1), 8000 + i, weights?.[i] ?? 1, { tls: null, connectTimeoutMs: 1000, maxConnections: null, http2: false });
    made.push(e);
    return e;
  });
  return eps;
}

function make(policy: string): Balancer {
  const f = balancers.get(policy);
  assert.ok(f, policy);
  return f();
}

function counts(b: Balancer, eps: Endpoint[], n: number, key?: (i: number) => string | undefined): number[] {
  const c = new Array<number>(eps.length).fill(0);
  for (let i = 0; i < n; i++) {
    const e = b.pick({ hashKey: key?.(i) });
    assert.ok(e);
    c[eps.indexOf(e)]++;
  }
  return c;
}

test('every registered policy picks only from the endpoints it was given, and null from none', () => {
  for (const policy of ['round_robin', 'least_request', 'random', 'ring_hash', 'maglev']) {
    const b = make(policy);
    assert.equal(b.pick({ hashKey: 'k' }), null, policy);
    const eps = endpoints(3);
    b.update(eps);
    for (let i = 0; i < 50; i++) assert.ok(eps.includes(b.pick({ hashKey: `k${i}` })!), policy);
    b.update([]);
    assert.equal(b.pick({ hashKey: 'k' }), null, policy);
  }
});

test('weighted distribution 3:1 within bounds for round_robin, random, least_request and the hash policies without a key', () => {
  // 8000 picks: expected share of the weight-3 endpoint is 0.75; bounds 0.70–0.80 (≈ 10 σ for random).
  for (const policy of ['round_robin', 'random', 'least_request', 'ring_hash', 'maglev']) {
    const eps = endpoints(2, [3, 1]);
    const b = make(policy);
    b.update(eps);
    const c = counts(b, eps, 8000);
    const share = c[0] / 8000;
    assert.ok(share > 0.7 && share < 0.8, `${policy}: share ${share}`);
  }
});

test('round_robin is smooth: a 3:1 weighting never sends more than 3 in a row to one endpoint', () => {
  const eps = endpoints(2, [3, 1]);
  const b = make('round_robin');
  b.update(eps);
  const seq = Array.from({ length: 40 }, () => b.pick({ hashKey: undefined }));
  for (let i = 0; i + 3 < seq.length; i++) assert.ok(!(seq[i] === seq[i + 1] && seq[i + 1] === seq[i + 2] && seq[i + 2] === seq[i + 3]));
  assert.equal(seq.filter((e) => e === eps[0]).length, 30);
});

test('least_request prefers the endpoint with fewer requests in flight', () => {
  const eps = endpoints(2);
  const b = make('least_request');
  b.update(eps);
  eps[0].active = 50;
  const c = counts(b, eps, 2000);
  eps[0].active = 0;
  // Whenever both are drawn the idle one wins, and a repeated draw is redrawn: so nearly all picks.
  assert.ok(c[1] / 2000 > 0.9, `idle share ${c[1] / 2000}`);
});

test('uniform distribution over 10 endpoints for hash policies with distinct keys (each within ±30% of fair)', () => {
  for (const policy of ['ring_hash', 'maglev']) {
    const eps = endpoints(10);
    const b = make(policy);
    b.update(eps);
    const c = counts(b, eps, 20000, (i) => `user-${i}`);
    for (const n of c) assert.ok(n > 1400 && n < 2600, `${policy}: ${c.join(',')}`);
  }
});

test('hash policies are sticky: the same key always goes to the same endpoint, and rebuilding the table keeps it', () => {
  for (const policy of ['ring_hash', 'maglev']) {
    const eps = endpoints(5);
    const b = make(policy);
    b.update(eps);
    const first = new Map<string, Endpoint>();
    for (let i = 0; i < 500; i++) first.set(`k${i}`, b.pick({ hashKey: `k${i}` })!);
    for (let round = 0; round < 3; round++) for (const [k, e] of first) assert.equal(b.pick({ hashKey: k }), e, policy);
    b.update([...eps].reverse()); // same set, another order
    for (const [k, e] of first) assert.equal(b.pick({ hashKey: k }), e, `${policy} after reorder`);
  }
});

test('ring_hash: when one of n endpoints leaves only its keys move (≈1/n), none between the others', () => {
  const n = 8;
  const eps = endpoints(n);
  const b = make('ring_hash');
  b.update(eps);
  const keys = Array.from({ length: 10000 }, (_, i) => `session-${i}`);
  const before = keys.map((k) => b.pick({ hashKey: k })!);
  const gone = eps[3];
  b.update(eps.filter((e) => e !== gone));
  let moved = 0;
  keys.forEach((k, i) => {
    const now = b.pick({ hashKey: k })!;
    if (before[i] === gone) assert.notEqual(now, gone);
    else assert.equal(now, before[i], 'a key of a staying endpoint moved');
    if (now !== before[i]) moved++;
  });
  const share = moved / keys.length;
  assert.ok(share > 0.5 / n && share < 1.6 / n, `moved ${share}`);
  // And it comes back to the same place when the endpoint returns.
  b.update(eps);
  keys.forEach((k, i) => assert.equal(b.pick({ hashKey: k }), before[i]));
});

test('maglev: removing one of n endpoints moves few keys of the others (< 10% of all keys)', () => {
  const n = 8;
  const eps = endpoints(n);
  const b = new MaglevBalancer();
  b.update(eps);
  const keys = Array.from({ length: 10000 }, (_, i) => `session-${i}`);
  const before = keys.map((k) => b.pick({ hashKey: k })!);
  b.update(eps.filter((e) => e !== eps[5]));
  let movedOthers = 0;
  keys.forEach((k, i) => {
    const now = b.pick({ hashKey: k })!;
    assert.notEqual(now, eps[5]);
    if (before[i] !== eps[5] && now !== before[i]) movedOthers++;
  });
  assert.ok(movedOthers / keys.length < 0.1, `others moved ${movedOthers / keys.length}`);
});

test('weights are honoured by ring_hash and maglev for hashed keys (3:1 → 0.65–0.85)', () => {
  for (const policy of ['ring_hash', 'maglev']) {
    const eps = endpoints(2, [3, 1]);
    const b = make(policy);
    b.update(eps);
    const share = counts(b, eps, 20000, (i) => `u${i}`)[0] / 20000;
    assert.ok(share > 0.65 && share < 0.85, `${policy}: ${share}`);
  }
});

test('exclude: a retry avoids the failed endpoint when another exists, for every policy', () => {
  for (const policy of ['round_robin', 'least_request', 'random', 'ring_hash', 'maglev']) {
    const eps = endpoints(3);
    const b = make(policy);
    b.update(eps);
    for (let i = 0; i < 200; i++) {
      const key = `k${i % 17}`;
      const first = b.pick({ hashKey: key })!;
      const second = b.pick({ hashKey: key }, first);
      assert.notEqual(second, first, policy);
    }
    b.update([eps[0]]);
    assert.equal(b.pick({ hashKey: 'k' }, eps[0]), eps[0], `${policy}: the only endpoint is still returned`);
  }
});

test('hash keys: header, cookie, client address; missing → undefined', () => {
  const src = (headers: Record<string, string>, clientIp = '192.0.2.7') => ({ req: { headers }, clientIp });
  assert.equal(compileHashKey({ header: 'X-User' })(src({ 'x-user': 'alice' })), 'alice');
  assert.equal(compileHashKey({ header: 'x-user' })(src({})), undefined);
  const ck = compileHashKey({ cookie: 'session' });
  assert.equal(ck(src({ cookie: 'a=1; session=abc; b=2' })), 'abc');
  assert.equal(ck(src({ cookie: 'xsession=no; sessionx=no' })), undefined);
  assert.equal(ck(src({})), undefined);
  assert.equal(compileHashKey({ clientIp: true })(src({})), '192.0.2.7');
  assert.equal(compileHashKey(undefined)(src({})), '192.0.2.7');
  assert.equal(cookieValue('session=abc', 'session'), 'abc');
});
