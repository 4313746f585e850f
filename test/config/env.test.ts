import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import YAML from 'yaml';
import { expandEnv, substituteEnvInDocument } from '../../src/config/env.ts';

describe('expandEnv', () => {
  const env = { HOST: 'db.internal', PORT: '5432', EMPTY: '' };
  const good: Array<[string, string]> = [
    ['plain', 'plain'],
    ['${HOST}', 'db.internal'],
    ['${HOST}:${PORT}', 'db.internal:5432'],
    ['x${EMPTY}y', 'xy'],
    ['$${HOST}', '${HOST}'],
    ['a $$${HOST}', 'a $${HOST}'], // a lone $, then the escape
    ['cost $5', 'cost $5'],
    ['$$', '$$'],
    ['trailing $', 'trailing $'],
  ];
  for (const [input, out] of good) {
    it(`${input} → ${out}`, () => assert.deepEqual(expandEnv(input, env), { ok: true, value: out, changed: input.includes('${') }));
  }
  const bad: Array<[string, string]> = [
    ['${MISSING}', 'environment variable MISSING is not set'],
    ['${HOST}${MISSING}', 'environment variable MISSING is not set'],
    ['${}', 'invalid environment variable reference "${}" (use ${NAME}, or $${ for a literal ${)'],
    ['${1X}', 'invalid environment variable reference "${1X}" (use ${NAME}, or $${ for a literal ${)'],
    ['${OPEN', 'invalid environment variable reference "${OPEN" (use ${NAME}, or $${ for a literal ${)'],
  ];
  for (const [input, message] of bad) {
    it(`${input} → error`, () => assert.deepEqual(expandEnv(input, env), { ok: false, message }));
  }
});

describe('substituteEnvInDocument', () => {
  it('substitutes values, not keys, and reports paths', () => {
    const doc = YAML.parseDocument('${K}: ${V}\nlist:\n  - { a: "${MISSING}" }\nn: ${N}\nq: "${N}"\nb: ${B}\n');
    const errors = substituteEnvInDocument(doc, { K: 'key', V: 'value', N: '42', B: 'true' });
    assert.deepEqual(errors, [{ path: 'list[0].a', message: 'environment variable MISSING is not set' }]);
    assert.deepEqual(doc.toJS(), { '${K}': 'value', list: [{ a: '${MISSING}' }], n: 42, q: '42', b: true });
  });

  it('does not let a value inject YAML structure', () => {
    const doc = YAML.parseDocument('a: ${V}\n');
    substituteEnvInDocument(doc, { V: '{ admin: { token: x } }\nb: 1' });
    assert.deepEqual(doc.toJS(), { a: '{ admin: { token: x } }\nb: 1' });
  });

  it('substitutes through anchors once', () => {
    const doc = YAML.parseDocument('a: &x "${V}"\nb: *x\n');
    assert.deepEqual(substituteEnvInDocument(doc, { V: 'v' }), []);
    assert.deepEqual(doc.toJS(), { a: 'v', b: 'v' });
  });
});
