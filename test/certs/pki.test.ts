import { test } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import forge from 'node-forge';
import { createCa, issueLeaf, ipToBytes, isValidSpiffeId, BACKDATE_MS } from '../../src/certs/pki.ts';
import { CertsError } from '../../src/certs/errors.ts';
import { parseCertDuration } from '../../src/certs/duration.ts';
import { IPV6_LOOPBACK_SAN, openssl, tempDir } from './helpers.ts';

// Spelled in two parts so no line of this file looks like key material to scanners.
const PKCS8_HEADER = '-----BEGIN ' + 'PRIVATE KEY-----';

const HOUR = 3_600_000;

test('createCa: self-signed v3 CA with critical basicConstraints and keyCertSign/cRLSign', async () => {
  const ca = await createCa({ ttlMs: 48 * HOUR });
  const x = new X509Certificate(ca.certPem);
  assert.equal(x.ca, true);
  assert.equal(x.subject, x.issuer);
  assert.ok(x.checkIssued(x));
  assert.ok(x.verify(x.publicKey));
  assert.ok(x.checkPrivateKey(createPrivateKey(ca.keyPem)));
  assert.ok(ca.keyPem.startsWith(`${PKCS8_HEADER}\n`), 'PKCS#8 PEM');
  assert.doesNotMatch(ca.certPem, /\r/);

  const f = forge.pki.certificateFromPem(ca.certPem);
  assert.equal(f.version, 2); // v3
  const bc = f.getExtension('basicConstraints') as { cA: boolean; critical: boolean };
  assert.equal(bc.cA, true);
  assert.equal(bc.critical, true);
  const ku = f.getExtension('keyUsage') as Record<string, boolean>;
  assert.equal(ku.keyCertSign, true);
  assert.equal(ku.cRLSign, true);
  assert.ok(f.getExtension('subjectKeyIdentifier'));
  assert.equal(f.siginfo.algorithmOid, forge.pki.oids.sha256WithRSAEncryption);
  assert.equal((f.publicKey as forge.pki.rsa.PublicKey).n.bitLength(), 2048);
});

test('issueLeaf: SANs (DNS, IPv4, IPv6, SPIFFE URI), usages, key identifiers, serial, validity', async () => {
  const ca = await createCa({ ttlMs: 48 * HOUR });
  const before = Date.now();
  const leaf = await issueLeaf(ca, {
    commonName: 'svc',
    dns: ['localhost', 'Svc.Example.COM'],
    ips: ['127.0.0.1', '::1', '2001:db8::7'],
    spiffe: 'spiffe://mesh.local/ns/demo/sa/echo',
    ttlMs: 2 * HOUR,
    usage: 'both',
  });
  const x = new X509Certificate(leaf.certPem);
  const caX = new X509Certificate(ca.certPem);
  assert.equal(x.ca, false);
  assert.ok(x.checkIssued(caX));
  assert.ok(x.verify(caX.publicKey));
  assert.ok(x.checkPrivateKey(createPrivateKey(leaf.keyPem)));
  const san = x.subjectAltName ?? '';
  assert.match(san, /DNS:localhost/);
  assert.match(san, /DNS:svc\.example\.com/);
  assert.match(san, /IP Address:127\.0\.0\.1/);
  assert.match(san, IPV6_LOOPBACK_SAN);
  assert.match(san, /IP Address:2001:DB8:0:0:0:0:0:7/i);
  assert.match(san, /URI:spiffe:\/\/mesh\.local\/ns\/demo\/sa\/echo/);
  assert.deepEqual([...(x.keyUsage ?? [])].sort(), ['1.3.6.1.5.5.7.3.1', '1.3.6.1.5.5.7.3.2']);

  const notBefore = new Date(x.validFrom).getTime();
  const notAfter = new Date(x.validTo).getTime();
  assert.ok(notBefore <= before - BACKDATE_MS + 1000, 'notBefore is backdated about a minute');
  assert.ok(notBefore >= before - BACKDATE_MS - 2000);
  assert.ok(Math.abs(notAfter - (before + 2 * HOUR)) < 5000);

  const f = forge.pki.certificateFromPem(leaf.certPem);
  const caF = forge.pki.certificateFromPem(ca.certPem);
  const bc = f.getExtension('basicConstraints') as { cA?: boolean };
  assert.ok(!bc.cA);
  const ku = f.getExtension('keyUsage') as Record<string, boolean>;
  assert.equal(ku.digitalSignature, true);
  assert.equal(ku.keyEncipherment, true);
  assert.ok(!ku.keyCertSign);
  const ski = f.getExtension('subjectKeyIdentifier') as { subjectKeyIdentifier: string };
  assert.ok(ski.subjectKeyIdentifier);
  const caSki = caF.getExtension('subjectKeyIdentifier') as { subjectKeyIdentifier: string };
  assert.ok(f.getExtension('authorityKeyIdentifier'));
  // authorityKeyIdentifier's keyIdentifier is the CA's subjectKeyIdentifier
  const akiExt = f.extensions.find((e: { name: string }) => e.name === 'authorityKeyIdentifier') as { value: string };
  assert.ok(forge.util.bytesToHex(akiExt.value).includes(caSki.subjectKeyIdentifier));
  assert.equal(f.siginfo.algorithmOid, forge.pki.oids.sha256WithRSAEncryption);

  // positive, 128-bit, minimally encoded serial
  const serial = f.serialNumber;
  assert.equal(serial.length, 32);
  assert.ok(parseInt(serial.slice(0, 2), 16) >= 1 && parseInt(serial.slice(0, 2), 16) <= 0x7f);
});

test('issueLeaf: serverAuth only / clientAuth only, random serials differ', async () => {
  const ca = await createCa({ ttlMs: HOUR });
  const s = await issueLeaf(ca, { commonName: 's', dns: ['a.test'], ttlMs: HOUR, usage: 'server' });
  const c = await issueLeaf(ca, { commonName: 'c', spiffe: 'spiffe://td/x', ttlMs: HOUR, usage: 'client' });
  assert.deepEqual(new X509Certificate(s.certPem).keyUsage, ['1.3.6.1.5.5.7.3.1']);
  assert.deepEqual(new X509Certificate(c.certPem).keyUsage, ['1.3.6.1.5.5.7.3.2']);
  assert.notEqual(new X509Certificate(s.certPem).serialNumber, new X509Certificate(c.certPem).serialNumber);
});

test('issueLeaf: a leaf never outlives its CA', async () => {
  const ca = await createCa({ ttlMs: HOUR });
  const leaf = await issueLeaf(ca, { commonName: 'x', dns: ['x.test'], ttlMs: 10 * HOUR, usage: 'server' });
  assert.ok(new Date(new X509Certificate(leaf.certPem).validTo) <= new Date(new X509Certificate(ca.certPem).validTo));
});

test('issueLeaf: rejects bad names and a CA that is not a CA', async () => {
  const ca = await createCa({ ttlMs: HOUR });
  const base = { commonName: 'x', ttlMs: HOUR, usage: 'server' as const };
  await assert.rejects(issueLeaf(ca, { ...base, dns: ['bad name'] }), CertsError);
  await assert.rejects(issueLeaf(ca, { ...base, ips: ['300.1.1.1'] }), CertsError);
  await assert.rejects(issueLeaf(ca, { ...base, ips: ['localhost'] }), CertsError);
  await assert.rejects(issueLeaf(ca, { ...base, spiffe: 'https://mesh.local/x' }), CertsError);
  await assert.rejects(issueLeaf(ca, { ...base, spiffe: 'spiffe://Mesh.Local/x' }), CertsError);
  const leaf = await issueLeaf(ca, { ...base, dns: ['x.test'] });
  await assert.rejects(issueLeaf(leaf, { ...base, dns: ['y.test'] }), /not a CA/);
  const other = await createCa({ ttlMs: HOUR });
  await assert.rejects(issueLeaf({ certPem: ca.certPem, keyPem: other.keyPem }, { ...base, dns: ['y.test'] }), /does not match/);
});

test('ipToBytes handles IPv4, compressed IPv6 and embedded IPv4; rejects garbage', () => {
  assert.deepEqual([...ipToBytes('127.0.0.1')!], [127, 0, 0, 1]);
  assert.equal(ipToBytes('::1')!.toString('hex'), '0'.repeat(30) + '01');
  assert.equal(ipToBytes('::')!.toString('hex'), '0'.repeat(32));
  assert.equal(ipToBytes('fe80::1:2')!.toString('hex'), 'fe80' + '0'.repeat(20) + '00010002');
  assert.equal(ipToBytes('::ffff:10.0.0.1')!.toString('hex'), '0'.repeat(20) + 'ffff0a000001');
  assert.equal(ipToBytes('1:2:3:4:5:6:7:8')!.toString('hex'), '00010002000300040005000600070008');
  assert.equal(ipToBytes('1.2.3'), null);
  assert.equal(ipToBytes('fe80::1%eth0'), null);
  assert.equal(ipToBytes('example.com'), null);
});

test('isValidSpiffeId', () => {
  assert.ok(isValidSpiffeId('spiffe://mesh.local/ns/edge/sa/gatehouse'));
  assert.ok(isValidSpiffeId('spiffe://mesh.local'));
  assert.ok(!isValidSpiffeId('spiffe://mesh.local/'));
  assert.ok(!isValidSpiffeId('spiffe://mesh.local/a//b'));
  assert.ok(!isValidSpiffeId('spiffe://mesh.local/a/../b'));
  assert.ok(!isValidSpiffeId('spiffe://mesh.local:443/a'));
  assert.ok(!isValidSpiffeId('spiffe://mesh.local/a?x=1'));
});

test('parseCertDuration', () => {
  assert.equal(parseCertDuration('24h'), 24 * HOUR);
  assert.equal(parseCertDuration('7d'), 7 * 24 * HOUR);
  assert.equal(parseCertDuration('1h30m'), 1.5 * HOUR);
  assert.equal(parseCertDuration('250ms'), 250);
  assert.equal(parseCertDuration('1.5h'), 1.5 * HOUR);
  assert.equal(parseCertDuration('24'), null);
  assert.equal(parseCertDuration('h'), null);
  assert.equal(parseCertDuration('5x'), null);
  assert.equal(parseCertDuration(''), null);
});

test('OpenSSL accepts the chain strictly, with the right purposes', async (t) => {
  const probe = await openssl(['version']);
  if (!probe) {
    t.skip('openssl not installed');
    return;
  }
  const dir = await tempDir(t);
  const ca = await createCa({ ttlMs: HOUR });
  const server = await issueLeaf(ca, { commonName: 'localhost', dns: ['localhost'], ips: ['127.0.0.1', '::1'], ttlMs: HOUR, usage: 'server' });
  const client = await issueLeaf(ca, { commonName: 'gh', spiffe: 'spiffe://mesh.local/ns/edge/sa/gatehouse', ttlMs: HOUR, usage: 'client' });
  await writeFile(join(dir, 'ca.crt'), ca.certPem);
  await writeFile(join(dir, 'server.crt'), server.certPem);
  await writeFile(join(dir, 'client.crt'), client.certPem);
  const caFile = join(dir, 'ca.crt');
  const ok = async (...args: string[]) => {
    const r = await openssl(['verify', '-x509_strict', '-CAfile', caFile, ...args]);
    return r?.code === 0;
  };
  assert.ok(await ok('-purpose', 'sslserver', join(dir, 'server.crt')));
  assert.ok(await ok('-purpose', 'sslclient', join(dir, 'client.crt')));
  assert.ok(!(await ok('-purpose', 'sslserver', join(dir, 'client.crt'))), 'client-only cert is not a server cert');
  assert.ok(await ok('-verify_hostname', 'localhost', join(dir, 'server.crt')));
  assert.ok(await ok('-verify_ip', '::1', join(dir, 'server.crt')));
  assert.ok(!(await ok('-verify_hostname', 'example.com', join(dir, 'server.crt'))));
});
