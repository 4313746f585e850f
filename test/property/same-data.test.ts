import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isDeepStrictEqual } from 'node:util';
import fc from 'fast-check';
import { sameData } from '../../src/util/same-data.ts';

// sameData (src/util/same-data.ts) decides whether a reload may keep a route's compiled match: it
// must answer exactly as node's isDeepStrictEqual does on config data, which it replaces for speed.

const data = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small' },
    fc.constantFrom(null, true, false, 0, 1, '', 'a', '/api'),
    fc.string({ maxLength: 4 }),
    fc.integer({ min: -3, max: 3 }),
    fc.array(tie('value'), { maxLength: 3 }),
    fc.dictionary(fc.constantFrom('a', 'b', 'prefix', 'headers'), tie('value'), { maxKeys: 3 }).map((d) => ({ ...d })), // plain objects, as config is
  ),
})).value;

test('sameData agrees with isDeepStrictEqual on config-like data, and a copy is always the same', () => {
  fc.assert(
    fc.property(data, data, (a, b) => {
      assert.equal(sameData(a, b), isDeepStrictEqual(a, b));
      assert.equal(sameData(a, structuredClone(a)), true);
    }),
    { numRuns: 2000 },
  );
});

test('sameData tells apart what a match change looks like', () => {
  const m = { prefix: '/a', headers: [{ name: 'x-env', exact: 'prod', invert: false }] };
  assert.equal(sameData(m, { prefix: '/a', headers: [{ name: 'x-env', exact: 'prod', invert: false }] }), true);
  assert.equal(sameData(m, { prefix: '/a', headers: [{ name: 'x-env', exact: 'prod', invert: true }] }), false);
  assert.equal(sameData(m, { prefix: '/a', headers: [{ name: 'x-env', exact: 'prod' }] }), false, 'a key less');
  assert.equal(sameData(m, { prefix: '/a', headers: [{ name: 'x-env', exact: 'prod', invert: false, present: true }] }), false, 'a key more');
  assert.equal(sameData({ methods: ['GET'] }, { methods: { 0: 'GET' } }), false, 'an array is not an object');
  assert.equal(sameData({ a: undefined }, {}), false, 'an explicit undefined is a key');
});
