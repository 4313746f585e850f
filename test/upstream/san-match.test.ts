import { test } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { compileSanMatcher, parseSanEntry, parseSubjectAltNames, sanMatches, sanIdentityCheck } from '../../src/upstream/san-match.ts';
import { testPki } from '../helpers/pki.ts';
import type { PeerCertificate } from 'node:tls';

// matchSubjectAltNames: exact SPIFFE IDs, `prefix:` for a trust domain or namespace, DNS names;
// SAN types are kept apart (issue 9.5): a DNS SAN never passes for a URI entry, nor the other way round.

const SAN = 'DNS:checkout.mesh.local, URI:spiffe://mesh.local/ns/shop/sa/checkout, IP Address:10.0.0.1';

test('SAN matching table', () => {
  const cases: Array<[string[], string | undefined, boolean]> = [
    [['spiffe://mesh.local/ns/shop/sa/checkout'], SAN, true],
    [['spiffe://mesh.local/ns/shop/sa/cart'], SAN, false],
    [['spiffe://mesh.local/ns/shop/sa/check'], SAN, false], // exact means exact, not a prefix
    [['prefix:spiffe://mesh.local/ns/shop/'], SAN, true],
    [['prefix:spiffe://mesh.local/'], SAN, true],
    [['prefix:spiffe://mesh.local/ns/billing/'], SAN, false],
    [['prefix:spiffe://other.local/'], SAN, false],
    [['Checkout.Mesh.Local'], SAN, true], // DNS names compare case-insensitively
    [['cart.mesh.local'], SAN, false],
    [['10.0.0.1'], SAN, false], // IP SANs are not identities here
    [['spiffe://mesh.local/ns/shop/sa/checkout'], undefined, false],
    [['spiffe://a/b', 'checkout.mesh.local'], SAN, true], // any entry may match
    [['spiffe://mesh.local/ns/a,b'], 'URI:"spiffe://mesh.local/ns/a,b", DNS:x', true], // quoted value with a comma
    // types kept apart: a DNS SAN spelling a SPIFFE ID is not that identity
    [['prefix:spiffe://mesh.local/ns/shop/'], 'DNS:spiffe://mesh.local/ns/shop/sa/checkout', false],
    [['spiffe://mesh.local/ns/shop/sa/checkout'], 'DNS:spiffe://mesh.local/ns/shop/sa/checkout', false],
    [['uri-prefix:spiffe://mesh.local/ns/shop/'], 'DNS:spiffe://mesh.local/ns/shop/sa/checkout', false],
    [['dns:spiffe://mesh.local/ns/shop/sa/checkout'], 'DNS:spiffe://mesh.local/ns/shop/sa/checkout', true],
    [['uri:spiffe://mesh.local/ns/shop/sa/checkout'], SAN, true],
    [['uri:checkout.mesh.local'], SAN, false], // a URI entry never matches the DNS SAN
    [['dns:checkout.mesh.local'], 'URI:checkout.mesh.local', false],
    [['dns:CHECKOUT.mesh.local'], SAN, true],
    [['dns-prefix:checkout.'], SAN, true],
    [['dns-prefix:spiffe://mesh.local/'], SAN, false],
    [['uri-prefix:spiffe://mesh.local/ns/shop/'], SAN, true],
    [['prefix:checkout.'], SAN, true], // legacy prefix without "://" is a DNS prefix
    [['prefix:checkout.'], 'URI:checkout.mesh.local', false],
  ];
  for (const [entries, san, want] of cases) assert.equal(sanMatches(compileSanMatcher(entries), san), want, `${entries} vs ${san}`);
});

test('parseSubjectAltNames splits URIs and DNS names', () => {
  assert.deepEqual(parseSubjectAltNames(SAN), { uris: ['spiffe://mesh.local/ns/shop/sa/checkout'], dns: ['checkout.mesh.local'] });
  assert.deepEqual(parseSubjectAltNames(''), { uris: [], dns: [] });
});

test('the identity check accepts the dev upstream certificate by SPIFFE ID and refuses it otherwise', async () => {
  const pki = await testPki();
  const cert = new X509Certificate(pki.read('upstream.crt'));
  const peer = { subjectaltname: cert.subjectAltName } as PeerCertificate;
  assert.equal(sanIdentityCheck(['spiffe://mesh.local/ns/demo/sa/echo'])('ignored', peer), undefined);
  const err = sanIdentityCheck(['spiffe://mesh.local/ns/shop/sa/checkout'])('localhost', peer) as Error & { code: string };
  assert.ok(err instanceof Error);
  assert.equal(err.code, 'ERR_TLS_CERT_ALTNAME_INVALID');
});

test('matchSubjectAltNames entry syntax', () => {
  assert.deepEqual(parseSanEntry('spiffe://td/x'), { type: 'uri', prefix: false, value: 'spiffe://td/x' });
  assert.deepEqual(parseSanEntry('Checkout.Mesh'), { type: 'dns', prefix: false, value: 'checkout.mesh' });
  assert.deepEqual(parseSanEntry('URI-PREFIX:spiffe://td/'), { type: 'uri', prefix: true, value: 'spiffe://td/' });
  assert.deepEqual(parseSanEntry('prefix:spiffe://td/'), { type: 'uri', prefix: true, value: 'spiffe://td/' });
  assert.deepEqual(parseSanEntry('prefix:api.'), { type: 'dns', prefix: true, value: 'api.' });
  assert.match(parseSanEntry('ip:10.0.0.1') as string, /unknown SAN type "ip:"/);
  assert.equal(parseSanEntry('uri:'), 'empty SAN value');
});
