import { test } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { compileSanMatcher, parseSubjectAltNames, sanMatches, sanIdentityCheck } from '../../src/upstream/san-match.ts';
import { testPki } from '../helpers/pki.ts';
import type { PeerCertificate } from 'node:tls';

// matchSubjectAltNames: exact SPIFFE IDs, `prefix:` for a trust domain or namespace, DNS names.

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
