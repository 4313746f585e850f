import { test } from 'node:test';
import assert from 'node:assert/strict';
import { normalizePath } from '../../src/router/normalize-path.ts';
import { compileHost, routeFor } from '../helpers/router-fixtures.ts';

// Path normalisation cases (the traffic tests send the same paths through real sockets).

const cases: Array<[string, string | null]> = [
  ['/a/b', '/a/b'],
  ['/public/../admin', '/admin'],
  ['/public/./x', '/public/x'],
  ['/public/%2e%2e/admin', '/admin'],
  ['/public/%2E%2E/admin', '/admin'],
  ['/public/.%2e/admin', '/admin'],
  ['/a//b///c', '/a/b/c'],
  ['//admin', '/admin'],
  ['/../../etc/passwd', '/etc/passwd'],
  ['/a/b/..', '/a/'],
  ['/a/', '/a/'],
  ['/%7Euser/%41', '/~user/A'],
  ['/public%2F..%2Fadmin', '/public%2F..%2Fadmin'], // encoded slash: kept, opaque, never a separator
  ['/a%2fb', '/a%2Fb'],
  ['/a%20b', '/a%20b'],
  ['/a%zz', null],
  ['/a%2', null],
  ['/a%00b', null],
  ['relative', null],
  // a raw backslash is a separator (issue 9.6); an encoded one stays opaque like %2F
  ['/public\\..\\admin/users', '/admin/users'],
  ['/a\\b', '/a/b'],
  ['/a\\\\b', '/a/b'],
  ['/public/..\\..\\admin', '/admin'],
  ['/a%5Cb', '/a%5Cb'],
  ['/a%5c..%5Cadmin', '/a%5C..%5Cadmin'],
];

test('normalisation table', () => {
  for (const [input, expected] of cases) assert.equal(normalizePath(input), expected, input);
});

test('a normalised path can never match a route it climbed out of', () => {
  const { vhost } = compileHost([
    { name: 'public', match: { prefix: '/public' }, route: { cluster: 'a' } },
    { name: 'admin', match: { prefix: '/admin' }, route: { cluster: 'b' } },
  ]);
  for (const raw of ['/public/../admin', '/public/%2e%2e/admin', '/public//../admin', '/public/./../admin']) {
    assert.equal(routeFor(vhost, { path: normalizePath(raw)! }), 'admin', raw);
  }
  assert.equal(routeFor(vhost, { path: normalizePath('/public%2F..%2Fadmin')! }), 'public', 'an encoded slash is not a separator');
});
