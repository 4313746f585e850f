import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cookieValue, compileStickyKey, WeightedSplit } from '../../src/router/split.ts';
import { hash32 } from '../../src/util/hash.ts';
import { fakeClusters } from '../helpers/router-fixtures.ts';
import type { StickySource } from '../../src/router/types.ts';

// The split function itself, over many samples (the traffic tests run a smaller split through sockets).
// Statistical bounds: n = 10,000 draws with p = 0.1 → mean 1,000, σ = √(n·p·(1−p)) = 30. We accept
// ±6σ (820…1,180): a correct split fails this with probability < 1e-8, a wrong one (say 85/15 or
// 95/5, 500 away) can never pass.

const N = 10_000;
const LOW = 1000 - 180;
const HIGH = 1000 + 180;

const cl = fakeClusters('v1', 'v2', 'zero');
const v1 = cl.get('v1')!;
const v2 = cl.get('v2')!;
const zero = cl.get('zero')!;

function src(o: { cookie?: string; header?: Record<string, string>; claims?: Record<string, unknown>; ip?: string } = {}): StickySource {
  return {
    req: { headers: { ...(o.cookie !== undefined ? { cookie: o.cookie } : {}), ...(o.header ?? {}) } },
    claims: o.claims ?? null,
    clientIp: o.ip ?? '',
  };
}

test('90/10 without a sticky key: random by weight, within ±6σ over 10,000 picks', () => {
  const split = new WeightedSplit([{ cluster: v1, weight: 90 }, { cluster: zero, weight: 0 }, { cluster: v2, weight: 10 }], null);
  let n2 = 0;
  for (let i = 0; i < N; i++) {
    const c = split.choose(src());
    assert.notEqual(c, zero, 'a weight of 0 never gets traffic');
    if (c === v2) n2++;
  }
  assert.ok(n2 >= LOW && n2 <= HIGH, `v2 got ${n2} of ${N}`);
});

test('sticky on a cookie: the same cookie always lands on the same cluster; many cookies follow the weights', () => {
  const split = new WeightedSplit([{ cluster: v1, weight: 90 }, { cluster: v2, weight: 10 }], compileStickyKey({ cookie: 'session' }));
  let n2 = 0;
  for (let i = 0; i < N; i++) {
    const cookie = `theme=dark; session=user-${i}; other=1`;
    const first = split.choose(src({ cookie }));
    for (let k = 0; k < 3; k++) assert.equal(split.choose(src({ cookie })), first, 'stable for one user');
    if (first === v2) n2++;
  }
  assert.ok(n2 >= LOW && n2 <= HIGH, `v2 got ${n2} of ${N} users`);
});

test('sticky keys: header, claim, client address; no key falls back to random', () => {
  for (const [sticky, make] of [
    [{ header: 'X-User' }, (i: number) => src({ header: { 'x-user': `u${i}` } })],
    [{ claim: 'sub' }, (i: number) => src({ claims: { sub: `sub-${i}` } })],
    [{ clientIp: true as const }, (i: number) => src({ ip: `10.0.${i >> 8}.${i & 255}` })],
  ] as const) {
    const split = new WeightedSplit([{ cluster: v1, weight: 50 }, { cluster: v2, weight: 50 }], compileStickyKey(sticky));
    const seen = new Set();
    for (let i = 0; i < 200; i++) {
      const c = split.choose(make(i));
      assert.equal(split.choose(make(i)), c, `${JSON.stringify(sticky)} is stable`);
      seen.add(c);
    }
    assert.equal(seen.size, 2, `${JSON.stringify(sticky)}: keys spread over both clusters`);
  }
  // Without the key: both clusters appear (random by weight).
  const split = new WeightedSplit([{ cluster: v1, weight: 50 }, { cluster: v2, weight: 50 }], compileStickyKey({ cookie: 'session' }));
  const seen = new Set();
  for (let i = 0; i < 100; i++) seen.add(split.choose(src({ cookie: 'other=1' })));
  assert.equal(seen.size, 2);
});

test('raising the canary weight only moves users toward the canary', () => {
  const at10 = new WeightedSplit([{ cluster: v1, weight: 90 }, { cluster: v2, weight: 10 }], compileStickyKey({ cookie: 's' }));
  const at20 = new WeightedSplit([{ cluster: v1, weight: 80 }, { cluster: v2, weight: 20 }], compileStickyKey({ cookie: 's' }));
  let moved = 0;
  for (let i = 0; i < 2000; i++) {
    const s = src({ cookie: `s=${i}` });
    const before = at10.choose(s);
    const after = at20.choose(s);
    if (before === v2) assert.equal(after, v2, 'a canary user stays on the canary');
    if (before !== after) moved++;
  }
  assert.ok(moved > 0);
});

test('binary search over the cumulative table, and the hash and cookie helpers', () => {
  const split = new WeightedSplit([{ cluster: v1, weight: 3 }, { cluster: zero, weight: 0 }, { cluster: v2, weight: 2 }], null);
  assert.deepEqual([0, 1, 2, 3, 4].map((x) => split.at(x).name), ['v1', 'v1', 'v1', 'v2', 'v2']);
  assert.equal(hash32('abc'), hash32('abc'));
  assert.notEqual(hash32('user-1'), hash32('user-2'));
  assert.equal(cookieValue('a=1; session=xyz; b=2', 'session'), 'xyz');
  assert.equal(cookieValue('xsession=1', 'session'), undefined);
  assert.equal(cookieValue(undefined, 'session'), undefined);
});
