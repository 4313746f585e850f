import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compileHost, fakeClusters, routeFor, type Req } from '../helpers/router-fixtures.ts';
import { virtualHostSchema } from '../../src/config/schema.ts';
import { compileVirtualHost } from '../../src/router/compile.ts';

// Table-driven: every matcher kind, invert, and first-match order, on the compiled router.

const to = { route: { cluster: 'a' } };

const routes = [
  // header matchers, every kind (each on its own path so the rows are independent)
  { name: 'h-exact', match: { prefix: '/h/exact', headers: [{ name: 'X-Env', exact: 'prod' }] }, ...to },
  { name: 'h-prefix', match: { prefix: '/h/prefix', headers: [{ name: 'x-env', prefix: 'pr' }] }, ...to },
  { name: 'h-suffix', match: { prefix: '/h/suffix', headers: [{ name: 'x-env', suffix: 'od' }] }, ...to },
  { name: 'h-regex', match: { prefix: '/h/regex', headers: [{ name: 'x-env', regex: 'p[a-z]+d' }] }, ...to },
  { name: 'h-present', match: { prefix: '/h/present', headers: [{ name: 'x-env', present: true }] }, ...to },
  { name: 'h-absent', match: { prefix: '/h/absent', headers: [{ name: 'x-env', absent: true }] }, ...to },
  { name: 'h-exact-inv', match: { prefix: '/h/inv-exact', headers: [{ name: 'x-env', exact: 'prod', invert: true }] }, ...to },
  { name: 'h-host', match: { prefix: '/h/host', headers: [{ name: 'Host', suffix: '.example.com' }] }, ...to },
  { name: 'h-present-inv', match: { prefix: '/h/inv-present', headers: [{ name: 'x-env', present: true, invert: true }] }, ...to },
  // query matchers
  { name: 'q-exact', match: { prefix: '/q/exact', query: [{ name: 'debug', exact: '1' }] }, ...to },
  { name: 'q-regex', match: { prefix: '/q/regex', query: [{ name: 'id', regex: '[0-9]{3}' }] }, ...to },
  { name: 'q-present', match: { prefix: '/q/present', query: [{ name: 'flag', present: true }] }, ...to },
  // methods
  { name: 'm-post', match: { prefix: '/m', methods: ['POST', 'PUT'] }, ...to },
  { name: 'm-any', match: { prefix: '/m' }, ...to },
  // path kinds
  { name: 'exact', match: { path: '/p/exact' }, ...to },
  { name: 'regex', match: { regex: '/r/[0-9]+/items' }, ...to },
  { name: 'prefix-partial', match: { prefix: '/pre' }, ...to },
  // regexes the index may key by their literal first segment — and the ones it must not
  { name: 're-lit', match: { regex: '/rl/[0-9]+' }, ...to },
  { name: 're-star', match: { regex: '/rs/*t' }, ...to }, // matches /rst: the slash is optional
  { name: 're-alt', match: { regex: '/ra/x|/rb' }, ...to }, // matches /rb: another branch
  { name: 're-opt', match: { regex: '/ro/?' }, ...to }, // matches /ro
  // first match wins: the specific route is listed before the general one
  { name: 'first-specific', match: { prefix: '/order/x' }, ...to },
  { name: 'first-general', match: { prefix: '/order' }, ...to },
  { name: 'never', match: { prefix: '/order/x/y' }, ...to }, // shadowed by first-general
  // several conditions together: all must hold
  { name: 'all', match: { prefix: '/all', methods: ['GET'], headers: [{ name: 'x-a', exact: '1' }], query: [{ name: 'b', exact: '2' }] }, ...to },
];

const cases: Array<[string, Req, string | null]> = [
  ['header exact hit (name case-insensitive)', { path: '/h/exact', headers: { 'X-ENV': 'prod' } }, 'h-exact'],
  ['header exact miss', { path: '/h/exact', headers: { 'x-env': 'production' } }, null],
  ['header exact, missing header', { path: '/h/exact' }, null],
  ['header prefix', { path: '/h/prefix', headers: { 'x-env': 'prod' } }, 'h-prefix'],
  ['header prefix miss', { path: '/h/prefix', headers: { 'x-env': 'dev' } }, null],
  ['header suffix', { path: '/h/suffix', headers: { 'x-env': 'prod' } }, 'h-suffix'],
  ['header suffix, missing', { path: '/h/suffix' }, null],
  ['header regex whole value', { path: '/h/regex', headers: { 'x-env': 'prod' } }, 'h-regex'],
  ['header regex is anchored', { path: '/h/regex', headers: { 'x-env': 'xprodx' } }, null],
  ['header present', { path: '/h/present', headers: { 'x-env': '' } }, 'h-present'],
  ['header present, missing', { path: '/h/present' }, null],
  ['header absent', { path: '/h/absent' }, 'h-absent'],
  ['header absent, present', { path: '/h/absent', headers: { 'x-env': 'x' } }, null],
  ['inverted exact, other value', { path: '/h/inv-exact', headers: { 'x-env': 'dev' } }, 'h-exact-inv'],
  ['inverted exact, missing header (false → true)', { path: '/h/inv-exact' }, 'h-exact-inv'],
  ['inverted exact, equal value', { path: '/h/inv-exact', headers: { 'x-env': 'prod' } }, null],
  ['host matcher on an HTTP/1.1 Host', { path: '/h/host', headers: { host: 'api.example.com' } }, 'h-host'],
  ['host matcher on an HTTP/2 :authority', { path: '/h/host', headers: { ':authority': 'api.example.com' } }, 'h-host'],
  ['host matcher miss', { path: '/h/host', headers: { host: 'example.org' } }, null],
  ['inverted present, missing', { path: '/h/inv-present' }, 'h-present-inv'],
  ['inverted present, present', { path: '/h/inv-present', headers: { 'x-env': '1' } }, null],
  ['query exact', { path: '/q/exact', query: '?a=b&debug=1' }, 'q-exact'],
  ['query exact, other value', { path: '/q/exact', query: '?debug=2' }, null],
  ['query exact, first occurrence counts', { path: '/q/exact', query: '?debug=2&debug=1' }, null],
  ['query exact, percent-decoded', { path: '/q/exact', query: '?%64ebug=%31' }, 'q-exact'],
  ['query regex', { path: '/q/regex', query: '?id=123' }, 'q-regex'],
  ['query regex anchored', { path: '/q/regex', query: '?id=1234' }, null],
  ['query present without value', { path: '/q/present', query: '?flag' }, 'q-present'],
  ['query present, missing', { path: '/q/present', query: '?other=1' }, null],
  ['method listed', { path: '/m', method: 'PUT' }, 'm-post'],
  ['method not listed falls through to the next route', { path: '/m', method: 'GET' }, 'm-any'],
  ['exact path', { path: '/p/exact' }, 'exact'],
  ['exact path, longer', { path: '/p/exact/more' }, null],
  ['regex whole path', { path: '/r/42/items' }, 'regex'],
  ['regex anchored at the end', { path: '/r/42/items/x' }, null],
  ['regex anchored at the start', { path: '/x/r/42/items' }, null],
  ['regex with a literal first segment', { path: '/rl/12' }, 're-lit'],
  ['regex whose slash is optional (*)', { path: '/rst' }, 're-star'],
  ['regex with an alternation', { path: '/rb' }, 're-alt'],
  ['regex whose slash is optional (?)', { path: '/ro' }, 're-opt'],
  ['prefix is textual (as in Envoy)', { path: '/prefix-and-more' }, 'prefix-partial'],
  ['prefix exact', { path: '/pre' }, 'prefix-partial'],
  ['first match wins (specific listed first)', { path: '/order/x/1' }, 'first-specific'],
  ['first match wins (general)', { path: '/order/z' }, 'first-general'],
  ['a shadowed route never matches', { path: '/order/x/y/z' }, 'first-specific'],
  ['all conditions hold', { path: '/all', headers: { 'x-a': '1' }, query: '?b=2' }, 'all'],
  ['one condition fails', { path: '/all', headers: { 'x-a': '1' }, query: '?b=3' }, null],
  ['no route', { path: '/nothing' }, null],
];

test('every matcher kind, invert and first-match order', () => {
  const { vhost, errors } = compileHost(routes);
  assert.deepEqual(errors, []);
  for (const [what, req, expected] of cases) {
    assert.equal(routeFor(vhost, req), expected, what);
  }
});

test('the same table holds on a small host (linear scan) and in the index', () => {
  // Each case against a host holding only the routes under test plus a catch-all keeps the linear path honest.
  for (const [what, req, expected] of cases) {
    if (expected === null) continue;
    const small = compileHost([routes.find((r) => r.name === expected)!, { name: 'catch', match: { prefix: '/' }, ...to }]);
    assert.equal(routeFor(small.vhost, req), expected, `small host: ${what}`);
  }
});

test('the index gives exactly what a linear first-match scan gives, on a large random host', () => {
  // Deterministic pseudo-random routes of every path kind, and requests over the same segment space.
  let seed = 12345;
  const rnd = (n: number) => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return seed % n;
  };
  const segs = ['a', 'ab', 'abc', 'b', 'api', 'apix', 'v1', 'v2', ''];
  const seg = () => segs[rnd(segs.length)];
  const many: unknown[] = [];
  for (let i = 0; i < 1200; i++) {
    const kind = rnd(10);
    // up to three segments deep, so the per-segment child indexes (depth 1 and 2) are exercised too
    const p = rnd(2) === 0 ? `/${seg()}/${seg()}` : `/${seg()}/${seg()}/${seg()}${rnd(2) === 0 ? '/' : ''}`;
    const match =
      kind < 3 ? { prefix: `/${seg()}` } // partial first segment
        : kind < 6 ? { prefix: p }
          : kind < 8 ? { path: p }
            : kind < 9 ? { regex: [`/${seg()}.*`, `/${seg()}/[a-z0-9]+`, `/${seg()}/*${seg()}`, `/${seg()}/x|/${seg()}`, `/${seg()}/?`][rnd(5)] }
              : { prefix: '/', headers: [{ name: 'x-k', exact: String(rnd(5)) }] };
    many.push({ name: `r${i}`, match: { ...match, ...(rnd(4) === 0 ? { methods: ['POST'] } : {}) }, ...to });
  }
  const { vhost, errors } = compileHost(many);
  assert.deepEqual(errors, []);
  let hits = 0;
  for (let i = 0; i < 6000; i++) {
    const req: Req = {
      path: `/${seg()}${rnd(3) === 0 ? '' : `/${seg()}`}${rnd(2) === 0 ? '' : `/${seg()}`}${rnd(3) === 0 ? `/${seg()}` : ''}`,
      method: rnd(3) === 0 ? 'POST' : 'GET',
      headers: rnd(2) === 0 ? { 'x-k': String(rnd(5)) } : {},
    };
    const linear = vhost.routes.find((r) => r.matches({ ...req, method: req.method!, headers: req.headers!, queryParam: () => undefined }));
    const got = routeFor(vhost, req);
    assert.equal(got, linear?.name ?? null, `${req.method} ${req.path}`);
    if (got !== null) hits++;
  }
  assert.ok(hits > 2000, `the random requests mostly match something (${hits})`);
});

test('10,000 routes across 1,000 virtual hosts compile and match', () => {
  const hosts = [];
  const t0 = performance.now();
  for (let h = 0; h < 1000; h++) {
    const rs = [];
    for (let i = 0; i < 10; i++) rs.push({ name: `h${h}-r${i}`, match: { prefix: `/svc${i}/` }, ...to });
    hosts.push(compileHost(rs).vhost);
  }
  const big = compileHost(Array.from({ length: 10_000 }, (_, i) => ({ name: `r${i}`, match: { prefix: `/svc${i}` }, ...to }))).vhost;
  const ms = performance.now() - t0;
  assert.equal(routeFor(hosts[999], { path: '/svc7/x' }), 'h999-r7');
  // `/svc1` is a textual prefix of `/svc10…` — first match wins, so r1 takes `/svc1234` too (as Envoy would).
  assert.equal(routeFor(big, { path: '/svc1234/x' }), 'r1');
  assert.equal(routeFor(big, { path: '/svc9999' }), 'r9');
  assert.equal(routeFor(big, { path: '/other' }), null);
  console.log(`# compiled 20,000 routes in ${ms.toFixed(0)} ms`);
});

test('a recompile keeps the compiled match of a route whose match did not change, and recompiles one that did', () => {
  const clusters = fakeClusters('a', 'b');
  const host = (matchB: object, clusterA: string) =>
    virtualHostSchema.parse({
      name: 'h',
      domains: ['*'],
      routes: [
        { name: 'a', match: { prefix: '/a', headers: [{ name: 'x-env', exact: 'prod' }] }, route: { cluster: clusterA } },
        { name: 'b', match: matchB, route: { cluster: 'b' } },
      ],
    });
  const errors: never[] = [];
  const first = compileVirtualHost(host({ prefix: '/b' }, 'a'), 'virtualHosts[0]', clusters, 15_000, errors);
  const byName = new Map(first.routes.map((r) => [r.name, r]));
  // A push that moves route a to another cluster and changes route b's match (new config objects).
  const second = compileVirtualHost(host({ path: '/b/exact' }, 'b'), 'virtualHosts[0]', clusters, 15_000, errors, {
    previousRoute: (vh, name) => (vh === 'h' ? byName.get(name) : undefined),
  });
  assert.deepEqual(errors, []);
  const [a1, b1] = first.routes;
  const [a2, b2] = second.routes;
  assert.equal(a2!.conditions, a1!.conditions, 'same match: its compiled conditions are taken over');
  assert.equal(a2!.matches, a1!.matches);
  assert.equal(a2!.stats, a1!.stats, 'stats carry on');
  assert.equal(a2!.action.kind === 'forward' && a2!.action.split.clusters[0]!.name, 'b', 'the new action is compiled');
  assert.notEqual(b2!.conditions, b1!.conditions, 'a changed match is compiled again');
  assert.deepEqual(b2!.conditions.map((c) => c.describe), ['path /b/exact']);
  assert.equal(routeFor(second, { path: '/b' }), null, 'the old prefix no longer routes');
  assert.equal(routeFor(second, { path: '/b/exact' }), 'b');
  assert.equal(routeFor(second, { path: '/a/x', headers: { 'x-env': 'prod' } }), 'a');
  assert.equal(routeFor(second, { path: '/a/x', headers: { 'x-env': 'dev' } }), null);
});
