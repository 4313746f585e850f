import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compileTokenSources, findCookie, findToken, hasCookie, withoutCookie } from '../../src/filters/authn/token-source.ts';
import { claimHeaderValue, compileClaimPath } from '../../src/filters/authn/claims.ts';
import { parseJwks } from '../../src/filters/authn/key-set.ts';

// Table tests for the small parsers on the authn path: token sources, cookies, claim paths.

test('findCookie reads only the named cookie', () => {
  const rows: Array<[string, string, string | null]> = [
    ['a=1; CF_Authorization=tok; b=2', 'CF_Authorization', 'tok'],
    ['CF_Authorization=tok', 'CF_Authorization', 'tok'],
    ['xCF_Authorization=no; CF_Authorization=yes', 'CF_Authorization', 'yes'],
    ['CF_Authorization="quoted"', 'CF_Authorization', 'quoted'],
    ['CF_Authorization=', 'CF_Authorization', null],
    ['a=1;b=2', 'CF_Authorization', null],
    ['novalue; CF_Authorization=t', 'CF_Authorization', 't'],
    ['a=x=y; CF_Authorization=t=1', 'CF_Authorization', 't=1'],
  ];
  for (const [header, name, want] of rows) assert.equal(findCookie(header, name), want, header);
});

test('withoutCookie removes only the named cookie', () => {
  assert.equal(withoutCookie('theme=dark; CF_Authorization=t; s=1', 'CF_Authorization'), 'theme=dark; s=1');
  assert.equal(withoutCookie('CF_Authorization=t', 'CF_Authorization'), '');
  assert.equal(withoutCookie('a=1;CF_Authorization=t;b=2', 'CF_Authorization'), 'a=1; b=2');
  assert.equal(withoutCookie('xCF_Authorization=keep', 'CF_Authorization'), 'xCF_Authorization=keep');
});

test('token sources are tried in order; the prefix is matched case-insensitively', () => {
  const sources = compileTokenSources([
    { header: 'Cf-Access-Jwt-Assertion' },
    { cookie: 'CF_Authorization' },
    { header: 'Authorization', prefix: 'Bearer ' },
  ]);
  assert.equal(findToken(sources, { 'cf-access-jwt-assertion': 'h', cookie: 'CF_Authorization=c', authorization: 'Bearer b' })?.token, 'h');
  assert.equal(findToken(sources, { cookie: 'CF_Authorization=c', authorization: 'Bearer b' })?.token, 'c');
  assert.equal(findToken(sources, { authorization: 'bearer b' })?.token, 'b');
  assert.equal(findToken(sources, { authorization: 'Basic abc' }), null);
  assert.equal(findToken(sources, { authorization: 'Bearer ' }), null);
  assert.equal(findToken(sources, {}), null);
  const found = findToken(sources, { cookie: 'CF_Authorization=c' });
  assert.equal(found?.source.header, 'cookie');
  assert.equal(found?.source.cookie, 'CF_Authorization');
});

test('claim paths: literal keys first (namespaced claims), then dotted paths', () => {
  const claims = { 'https://example.com/roles': ['r'], realm_access: { roles: ['admin'] }, a: 'x' };
  assert.deepEqual(compileClaimPath('https://example.com/roles')(claims), ['r']);
  assert.deepEqual(compileClaimPath('realm_access.roles')(claims), ['admin']);
  assert.equal(compileClaimPath('realm_access.missing.deeper')(claims), undefined);
  assert.equal(compileClaimPath('a.b')(claims), undefined);
});

test('claim header values: text, joined arrays, JSON objects; unsafe values dropped', () => {
  assert.equal(claimHeaderValue('alice'), 'alice');
  assert.equal(claimHeaderValue(42), '42');
  assert.equal(claimHeaderValue(true), 'true');
  assert.equal(claimHeaderValue(['a', 'b']), 'a,b');
  assert.equal(claimHeaderValue({ x: 1 }), '{"x":1}');
  assert.equal(claimHeaderValue('evil\r\nx-injected: 1'), null);
  assert.equal(claimHeaderValue(undefined), null);
  assert.equal(claimHeaderValue(null), null);
});

test('parseJwks keeps only keys and refuses sets that cannot be right', () => {
  const cf = { keys: [{ kty: 'RSA', kid: 'a', n: 'x', e: 'AQAB' }], public_cert: { kid: 'a', cert: 'PEM' }, public_certs: [{ kid: 'a', cert: 'PEM' }] };
  assert.deepEqual(parseJwks(cf), { keys: cf.keys });
  for (const bad of [null, 'x', 42, [], {}, { keys: 'nope' }, { keys: [] }, { keys: [1, 'a'] }, { keys: [{ kty: 'oct', k: 'c2VjcmV0' }] }, { keys: [{ kty: 'RSA', n: 'x', e: 'AQAB', d: 'private' }] }]) {
    assert.throws(() => parseJwks(bad), JSON.stringify(bad));
  }
});

test('token places: occupied whatever they hold; a prefixed header counts every raw copy', () => {
  const [header, cookie, bearer] = compileTokenSources([{ header: 'X-Tok' }, { cookie: 'tok' }, { header: 'Authorization', prefix: 'Bearer ' }]);
  const req = (headers: Record<string, string>, rawHeaders: string[] = []) => ({ headers, rawHeaders });
  assert.equal(header.occupied(req({ 'x-tok': '' })), true, 'an empty header is still stripped');
  assert.equal(header.occupied(req({})), false);
  assert.equal(cookie.occupied(req({ cookie: 'a=1; tok=; b=2' })), true);
  assert.equal(cookie.occupied(req({ cookie: 'a=1; xtok=1' })), false);
  assert.equal(bearer.occupied(req({ authorization: 'Basic x' }, ['Authorization', 'Basic x', 'authorization', 'bearer junk'])), true);
  assert.equal(bearer.occupied(req({ authorization: 'Basic x' }, ['Authorization', 'Basic x'])), false);
  assert.equal(hasCookie('tok', 'tok'), true);
  assert.equal(hasCookie('a=tok', 'tok'), false);
});
