import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import YAML from 'yaml';
import { loadConfigText, type LoadResult } from '../../src/config/load.ts';

// The config loader, fed any YAML or JSON value: it returns a config or a list of `path: message`
// errors, and never throws anything else (a reload must never take the gateway down).

const ENV = { HOME: '/tmp', PORT: '8443' };

function check(r: LoadResult): void {
  if (r.ok) return;
  assert.ok(r.errors.length > 0, 'a refusal says why');
  for (const e of r.errors) {
    assert.equal(typeof e.path, 'string');
    assert.equal(typeof e.message, 'string');
    assert.ok(e.message.length > 0, `empty message at ${e.path}`);
  }
}

async function load(text: string): Promise<LoadResult> {
  try {
    return await loadConfigText(text, ENV);
  } catch (err) {
    assert.fail(`loadConfigText threw on ${JSON.stringify(text).slice(0, 300)}: ${(err as Error).stack}`);
  }
}

test('any JSON value (as JSON text, which is YAML too) → a config or path: message errors', async () => {
  await fc.assert(
    fc.asyncProperty(fc.jsonValue({ maxDepth: 4 }), async (v) => check(await load(JSON.stringify(v)))),
    { numRuns: 300 },
  );
});

test('any text → a config or path: message errors', async () => {
  await fc.assert(
    fc.asyncProperty(fc.string({ maxLength: 200 }), async (t) => check(await load(t))),
    { numRuns: 300 },
  );
});

// Values shaped like a config: the right top-level keys (and nested ones) with arbitrary values.
const scalar = fc.oneof(fc.string({ maxLength: 12 }), fc.integer(), fc.double(), fc.boolean(), fc.constant(null), fc.constantFrom('10s', '0s', '-1s', '${PORT}', '${NOPE}', '$${X}', '127.0.0.1:0', '*', '/'));
const anyValue = fc.letrec((tie) => ({
  value: fc.oneof({ depthSize: 'small' }, scalar, fc.array(tie('value'), { maxLength: 3 }), fc.dictionary(fc.constantFrom('name', 'address', 'match', 'prefix', 'route', 'cluster', 'tls', 'limits', 'x'), tie('value'), { maxKeys: 3 })),
})).value;
const listener = fc.record(
  { name: scalar, address: scalar, tls: anyValue, limits: anyValue, redirectToHttps: anyValue, trustedProxies: anyValue },
  { requiredKeys: [] },
);
const configShaped = fc.record(
  {
    admin: anyValue,
    overload: fc.record({ maxEventLoopDelay: scalar, maxHeapUsedBytes: scalar, maxConnections: scalar }, { requiredKeys: [] }),
    listeners: fc.array(listener, { maxLength: 2 }),
    virtualHosts: fc.array(fc.record({ name: scalar, domains: anyValue, routes: fc.array(anyValue, { maxLength: 3 }) }, { requiredKeys: [] }), { maxLength: 2 }),
    clusters: fc.array(fc.record({ name: scalar, discovery: anyValue, tls: anyValue }, { requiredKeys: [] }), { maxLength: 2 }),
    rateLimit: anyValue,
    authn: anyValue,
    drain: anyValue,
  },
  { requiredKeys: [] },
);

test('config-shaped values with arbitrary leaves (as YAML) → a config or path: message errors', async () => {
  await fc.assert(
    fc.asyncProperty(configShaped, async (v) => check(await load(YAML.stringify(v)))),
    { numRuns: 300 },
  );
});

test('YAML that abuses anchors and aliases is refused with an error, not a throw', async () => {
  const bomb = ['a: &a ["x","x","x","x","x","x","x","x","x","x"]', ...Array.from({ length: 8 }, (_, i) => `${String.fromCharCode(98 + i)}: &${String.fromCharCode(98 + i)} [${Array(10).fill(`*${String.fromCharCode(97 + i)}`).join(',')}]`)].join('\n');
  const r = await load(bomb);
  assert.equal(r.ok, false);
  check(r);
});
