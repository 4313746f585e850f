import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { testPki, type TestPki } from '../helpers/pki.ts';
import { startUpstream, type TestUpstream } from '../helpers/upstream.ts';
import { startGateway, type TestGateway, gatewayPreamble } from '../helpers/gateway.ts';
import { h1 } from '../helpers/clients.ts';
import { makeKey, sign, type TestKey } from '../helpers/authn-jwks.ts';
import { testTempDir } from '../helpers/tmp.ts';

// authz allow/deny through a real gateway: claims (equality, array membership, dotted paths),
// methods, path prefixes on the normalised path, source CIDRs, header matchers; deny wins; with
// allow rules, anything not allowed is 403. Keys come from an inline JWKS and a jwksFile.

let pki: TestPki;
let up: TestUpstream;
let gw: TestGateway;
let inlineKey: TestKey;
let fileKey: TestKey;

before(async () => {
  pki = await testPki();
  [inlineKey, fileKey] = await Promise.all([makeKey('inline-1', 'ec'), makeKey('file-1', 'rsa')]);
  const dir = testTempDir('gatehouse-authz-');
  const jwksFile = join(dir, 'jwks.json');
  writeFileSync(jwksFile, JSON.stringify({ keys: [fileKey.jwk] }));
  up = await startUpstream();
  gw = await startGateway(`
${gatewayPreamble(pki)}
authn:
  providers:
    - name: inline
      issuer: https://idp.test
      audiences: [gatehouse-test]
      jwks: { keys: [${JSON.stringify(inlineKey.jwk)}] }
    - name: file
      issuer: https://other-idp.test
      audiences: [gatehouse-test]
      jwksFile: ${jwksFile}
virtualHosts:
  - name: main
    domains: ["*"]
    authn: { providers: [inline, file] }
    authz:
      allow:
        - { claims: { groups: [shop] }, methods: [GET, POST] }
        - { claims: { "realm_access.roles": admin } }
      deny:
        - { paths: [/shop/internal] }
    routes:
      - name: local-denied
        match: { prefix: /local }
        authz: { deny: [{ sourceCidrs: ["127.0.0.0/8", "::1/128"] }] }
        route: { cluster: backend }
      - name: everyone-denied
        match: { prefix: /everyone }
        authz: { deny: [{ sourceCidrs: ["0.0.0.0/0", "::/0"] }] }
        route: { cluster: backend }
      - name: other-net-denied
        match: { prefix: /othernet }
        authz: { deny: [{ sourceCidrs: ["203.0.113.0/24"] }] }
        route: { cluster: backend }
      - name: by-header
        match: { prefix: /hdr }
        authz: { allow: [{ headers: [{ name: x-env, prefix: prod }] }, { headers: [{ name: x-env, regex: "stag(e|ing)" }] }] }
        route: { cluster: backend }
      - name: no-debug
        match: { prefix: /nodebug }
        authz: { deny: [{ headers: [{ name: x-debug, present: true }] }, { headers: [{ name: x-trace, exact: "on", invert: true }] }] }
        route: { cluster: backend }
      - name: email
        match: { prefix: /email }
        authz: { allow: [{ claims: { email: alice@example.com, email_verified: "true" } }] }
        route: { cluster: backend }
      - name: anonymous-claims
        match: { prefix: /anon }
        authn: { providers: [inline], allowAnonymous: true }
        authz: { allow: [{ claims: { groups: [shop] } }, { methods: [OPTIONS] }] }
        route: { cluster: backend }
      - { name: all, match: { prefix: / }, route: { cluster: backend } }
clusters:
  - name: backend
    discovery: { type: static, endpoints: ["${up.address}"] }
`);
});
after(async () => {
  await gw.close();
  await up.close();
});

type Who = 'shopper' | 'admin' | 'nobody' | 'alice' | 'alice-unverified' | 'file-shopper' | 'anonymous';

async function tokenFor(who: Who): Promise<string | null> {
  switch (who) {
    case 'shopper':
      return sign(inlineKey, { sub: 's', groups: ['staff', 'shop'] });
    case 'admin':
      return sign(inlineKey, { sub: 'a', realm_access: { roles: ['admin'] } });
    case 'nobody':
      return sign(inlineKey, { sub: 'n', groups: 'guests' });
    case 'alice':
      return sign(inlineKey, { sub: 'al', email: 'alice@example.com', email_verified: true });
    case 'alice-unverified':
      return sign(inlineKey, { sub: 'al', email: 'alice@example.com', email_verified: false });
    case 'file-shopper':
      return sign(fileKey, { sub: 'f', groups: 'shop' }, { iss: 'https://other-idp.test' });
    case 'anonymous':
      return null;
  }
}

const table: Array<{ who: Who; method?: string; path: string; headers?: Record<string, string>; want: number }> = [
  { who: 'shopper', path: '/shop/cart', want: 200 },
  { who: 'shopper', method: 'POST', path: '/shop/cart', want: 200 },
  { who: 'shopper', method: 'DELETE', path: '/shop/cart', want: 403 },
  { who: 'file-shopper', path: '/shop/cart', want: 200 }, // string claim equality, second provider
  { who: 'admin', method: 'DELETE', path: '/shop/cart', want: 200 }, // dotted path into an array claim
  { who: 'nobody', path: '/shop/cart', want: 403 },
  { who: 'anonymous', path: '/shop/cart', want: 401 },
  { who: 'admin', path: '/shop/internal/x', want: 403 }, // deny wins over allow
  { who: 'admin', path: '/shop/a/../internal/x', want: 403 }, // on the normalised path
  { who: 'admin', path: '/shop/%69nternal', want: 403 },
  { who: 'nobody', path: '/local', want: 403 }, // route authz replaces the host's
  { who: 'nobody', path: '/othernet', want: 200 }, // only deny rules: the rest is allowed
  { who: 'admin', path: '/everyone', want: 403 }, // a /0 block is every address of its family
  { who: 'nobody', path: '/hdr', headers: { 'x-env': 'production' }, want: 200 },
  { who: 'nobody', path: '/hdr', headers: { 'x-env': 'staging' }, want: 200 },
  { who: 'nobody', path: '/hdr', headers: { 'x-env': 'staging-2' }, want: 403 }, // regex matches the whole value
  { who: 'nobody', path: '/hdr', want: 403 },
  { who: 'nobody', path: '/nodebug', headers: { 'x-trace': 'on' }, want: 200 },
  { who: 'nobody', path: '/nodebug', headers: { 'x-trace': 'on', 'x-debug': '1' }, want: 403 },
  { who: 'nobody', path: '/nodebug', want: 403 }, // inverted exact on a missing header is true → deny
  { who: 'alice', path: '/email', want: 200 }, // boolean claim compared as text
  { who: 'alice-unverified', path: '/email', want: 403 },
  { who: 'anonymous', path: '/anon', want: 403 }, // no claims: claim rules never match
  { who: 'anonymous', method: 'OPTIONS', path: '/anon', want: 200 },
  { who: 'shopper', path: '/anon', want: 200 },
];

test('authz allow/deny table', async () => {
  for (const row of table) {
    const t = await tokenFor(row.who);
    const headers: Record<string, string> = { ...(row.headers ?? {}) };
    if (t) headers.authorization = `Bearer ${t}`;
    const r = await h1(pki, gw.httpsPort, row.path, { method: row.method ?? 'GET', headers });
    assert.equal(r.status, row.want, `${row.who} ${row.method ?? 'GET'} ${row.path} ${JSON.stringify(row.headers ?? {})}: ${r.body}`);
    if (r.status === 403) {
      assert.equal(JSON.parse(r.body).error, 'forbidden');
      assert.equal(r.headers['www-authenticate'], undefined);
    }
  }
});
