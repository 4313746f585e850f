import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { compileHost, routeFor, type Req } from '../helpers/router-fixtures.ts';

// The route matcher (indexed segment by segment, src/router/route-index.ts) agrees with a naive
// reference: the first route, in table order, whose every predicate holds. Tables are long enough
// (up to 40 routes) for the index to be used, and their paths share segments on purpose.

type HeaderMatch = { name: string; exact?: string; prefix?: string; present?: true; absent?: true; invert?: boolean };
interface RouteSpec {
  name: string;
  match: { prefix?: string; path?: string; regex?: string; methods?: string[]; headers?: HeaderMatch[] };
}

const PATHS = ['/', '/a', '/a/', '/a/b', '/a/b/', '/a/b/c', '/ab', '/abc', '/b', '/b/1', '/api', '/api/v1', '/api/v1/x', '/api/v2/y'];
const REGEXES = ['/a/.*', '/b/[0-9]+', '/api/v[0-9]+/.*', '.*', '/a(/b)?', '/ab?c?'];
const METHODS = ['GET', 'POST', 'DELETE'];
const HEADER_NAMES = ['x-a', 'x-b'];
const HEADER_VALUES = ['1', '12', 'yes'];

const headerMatch: fc.Arbitrary<HeaderMatch> = fc
  .tuple(
    fc.constantFrom(...HEADER_NAMES),
    fc.constantFrom('exact', 'prefix', 'present', 'absent'),
    fc.constantFrom(...HEADER_VALUES),
    fc.boolean(),
  )
  .map(([name, kind, value, invert]) => {
    const m: HeaderMatch = { name, invert };
    if (kind === 'exact') m.exact = value;
    else if (kind === 'prefix') m.prefix = value;
    else if (kind === 'present') m.present = true;
    else m.absent = true;
    return m;
  });

const routeSpec = fc
  .tuple(
    fc.constantFrom('prefix', 'prefix', 'path', 'regex'),
    fc.constantFrom(...PATHS),
    fc.constantFrom(...REGEXES),
    fc.option(fc.subarray(METHODS, { minLength: 1 }), { nil: undefined }),
    fc.array(headerMatch, { maxLength: 2 }),
  )
  .map(([kind, path, regex, methods, headers]) => {
    const match: RouteSpec['match'] = kind === 'regex' ? { regex } : kind === 'path' ? { path } : { prefix: path };
    if (methods) match.methods = methods;
    if (headers.length > 0) match.headers = headers;
    return match;
  });

const table = fc.array(routeSpec, { minLength: 1, maxLength: 40 }).map((ms) => ms.map((match, i): RouteSpec => ({ name: `r${i}`, match })));

const request: fc.Arbitrary<Req> = fc.record({
  path: fc.constantFrom(...PATHS, '/a/b/c/d', '/api/v3/z', '/zzz', '/b/x'),
  method: fc.constantFrom(...METHODS),
  headers: fc.dictionary(fc.constantFrom(...HEADER_NAMES), fc.constantFrom(...HEADER_VALUES), { maxKeys: 2 }),
});

function headerHolds(m: HeaderMatch, headers: Record<string, string>): boolean {
  const v = headers[m.name];
  let r: boolean;
  if (m.present) r = v !== undefined;
  else if (m.absent) r = v === undefined;
  else if (m.exact !== undefined) r = v === m.exact;
  else r = v !== undefined && v.startsWith(m.prefix!);
  return m.invert ? !r : r;
}

/** The reference: a plain scan in table order, predicates written from the SPEC. */
function reference(routes: RouteSpec[], r: Req): string | null {
  for (const { name, match } of routes) {
    const pathOk =
      match.path !== undefined
        ? r.path === match.path
        : match.regex !== undefined
          ? new RegExp(`^(?:${match.regex})$`).test(r.path)
          : r.path.startsWith(match.prefix!);
    if (!pathOk) continue;
    if (match.methods && !match.methods.includes(r.method!)) continue;
    if (match.headers && !match.headers.every((h) => headerHolds(h, r.headers ?? {}))) continue;
    return name;
  }
  return null;
}

test('the indexed matcher picks the same route as a naive first-match scan', () => {
  fc.assert(
    fc.property(table, fc.array(request, { minLength: 1, maxLength: 20 }), (routes, requests) => {
      const { vhost, errors } = compileHost(routes.map((r) => ({ ...r, directResponse: { status: 200 } })));
      assert.deepEqual(errors, []);
      for (const r of requests) assert.equal(routeFor(vhost, r), reference(routes, r), `${r.method} ${r.path} ${JSON.stringify(r.headers)}`);
    }),
    { numRuns: 400 },
  );
});
