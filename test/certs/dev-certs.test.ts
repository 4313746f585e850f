import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate, createPrivateKey, createSign, createVerify } from 'node:crypto';
import { readFile, readdir, stat, writeFile, rm, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { mkdtemp } from 'node:fs/promises';
import {
  CertsError,
  DEV_CERT_FILES,
  ensureDevCerts,
  initDevCerts,
  issueCert,
} from '../../src/certs/dev-certs.ts';
import { createCa, issueLeaf } from '../../src/certs/pki.ts';
import { handshake, IPV6_LOOPBACK_SAN, ipv6Available, tempDir } from './helpers.ts';

// Spelled in two parts so no line of this file looks like key material to scanners.
const PKCS8_HEADER = '-----BEGIN ' + 'PRIVATE KEY-----';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const KEYS = DEV_CERT_FILES.filter((f) => f.endsWith('.key'));

// One shared set for the read-only tests (a handshake test never modifies it).
let shared: string;
let other: string; // a second, unrelated set: a different CA
const read = (dir: string, f: string) => readFile(join(dir, f), 'utf8');

before(async () => {
  shared = await mkdtemp(join(tmpdir(), 'gatehouse-certs-shared-'));
  other = await mkdtemp(join(tmpdir(), 'gatehouse-certs-other-'));
  await Promise.all([
    initDevCerts({ dir: shared, ttlMs: DAY, trustDomain: 'mesh.local', force: false }),
    initDevCerts({ dir: other, ttlMs: DAY, trustDomain: 'mesh.local', force: false }),
  ]);
});

test.after(async () => {
  await rm(shared, { recursive: true, force: true });
  await rm(other, { recursive: true, force: true });
});

test('init writes all nine files, keys 0600 and nothing else (no temp files left)', async () => {
  const names = (await readdir(shared)).sort();
  assert.deepEqual(names, [...DEV_CERT_FILES].sort());
  for (const k of KEYS) {
    const st = await stat(join(shared, k));
    assert.equal(st.mode & 0o777, 0o600, `${k} has mode 0600`);
  }
  for (const c of DEV_CERT_FILES.filter((f) => f.endsWith('.crt'))) {
    const st = await stat(join(shared, c));
    assert.equal(st.mode & 0o077 & 0o022, 0, `${c} is not group/world writable`);
  }
});

test('init: the CA outlives the leaves (max(ttl, 30d)); leaves get the ttl', async () => {
  const ca = new X509Certificate(await read(shared, 'ca.crt'));
  const edge = new X509Certificate(await read(shared, 'edge.crt'));
  const caLife = new Date(ca.validTo).getTime() - Date.now();
  const edgeLife = new Date(edge.validTo).getTime() - Date.now();
  assert.ok(caLife > 29 * DAY, 'CA lives about 30 days');
  assert.ok(edgeLife > DAY - 5 * 60_000 && edgeLife <= DAY, 'leaf lives 24h');
});

test('init: every leaf verifies against the CA and matches its key; the token key is EC P-256 PKCS#8', async () => {
  const ca = new X509Certificate(await read(shared, 'ca.crt'));
  assert.equal(ca.ca, true);
  for (const name of ['edge', 'gatehouse', 'upstream']) {
    const x = new X509Certificate(await read(shared, `${name}.crt`));
    assert.ok(x.checkIssued(ca), `${name} issued by CA`);
    assert.ok(x.verify(ca.publicKey), `${name} signature verifies`);
    assert.ok(x.checkPrivateKey(createPrivateKey(await read(shared, `${name}.key`))), `${name} key matches`);
  }
  const pem = await read(shared, 'internal-token.key');
  assert.ok(pem.startsWith(PKCS8_HEADER), 'PKCS#8 PEM');
  const key = createPrivateKey(pem);
  assert.equal(key.asymmetricKeyType, 'ec');
  assert.equal(key.asymmetricKeyDetails?.namedCurve, 'prime256v1');
  const sig = createSign('SHA256').update('x').sign(key);
  assert.ok(createVerify('SHA256').update('x').verify(key, sig));
});

test('init: SANs — SPIFFE IDs, DNS:localhost, 127.0.0.1 and ::1', async () => {
  const edge = new X509Certificate(await read(shared, 'edge.crt')).subjectAltName ?? '';
  assert.match(edge, /DNS:localhost/);
  assert.match(edge, /IP Address:127\.0\.0\.1/);
  assert.match(edge, IPV6_LOOPBACK_SAN);
  assert.deepEqual(new X509Certificate(await read(shared, 'edge.crt')).keyUsage, ['1.3.6.1.5.5.7.3.1']);

  const gh = new X509Certificate(await read(shared, 'gatehouse.crt'));
  assert.match(gh.subjectAltName ?? '', /URI:spiffe:\/\/mesh\.local\/ns\/edge\/sa\/gatehouse/);
  assert.deepEqual(gh.keyUsage, ['1.3.6.1.5.5.7.3.2']);

  const up = new X509Certificate(await read(shared, 'upstream.crt'));
  const upSan = up.subjectAltName ?? '';
  assert.match(upSan, /URI:spiffe:\/\/mesh\.local\/ns\/demo\/sa\/echo/);
  assert.match(upSan, /DNS:localhost/);
  assert.match(upSan, /IP Address:127\.0\.0\.1/);
  assert.match(upSan, IPV6_LOOPBACK_SAN);
  assert.deepEqual([...(up.keyUsage ?? [])].sort(), ['1.3.6.1.5.5.7.3.1', '1.3.6.1.5.5.7.3.2']);
});

test('init: --trust-domain is used in both SPIFFE IDs; a bad trust domain is refused', async (t) => {
  const dir = await tempDir(t);
  await initDevCerts({ dir, ttlMs: HOUR, trustDomain: 'prod.example', force: false });
  assert.match(new X509Certificate(await read(dir, 'gatehouse.crt')).subjectAltName ?? '', /spiffe:\/\/prod\.example\/ns\/edge\/sa\/gatehouse/);
  assert.match(new X509Certificate(await read(dir, 'upstream.crt')).subjectAltName ?? '', /spiffe:\/\/prod\.example\/ns\/demo\/sa\/echo/);
  const dir2 = await tempDir(t);
  await assert.rejects(initDevCerts({ dir: dir2, ttlMs: HOUR, trustDomain: 'Bad/TD', force: false }), CertsError);
  assert.deepEqual(await readdir(dir2), []);
});

test('init refuses when any target exists, writing nothing; --force overwrites', async (t) => {
  const dir = await tempDir(t);
  await writeFile(join(dir, 'gatehouse.crt'), 'mine\n');
  await assert.rejects(
    initDevCerts({ dir, ttlMs: HOUR, trustDomain: 'mesh.local', force: false }),
    (err: unknown) => err instanceof CertsError && err.message.includes(join(dir, 'gatehouse.crt')) && !err.message.includes('ca.crt'),
  );
  assert.deepEqual(await readdir(dir), ['gatehouse.crt'], 'nothing else written, no temp files');
  assert.equal(await read(dir, 'gatehouse.crt'), 'mine\n');

  const { written } = await initDevCerts({ dir, ttlMs: HOUR, trustDomain: 'mesh.local', force: true });
  assert.equal(written.length, 9);
  assert.deepEqual((await readdir(dir)).sort(), [...DEV_CERT_FILES].sort());
  assert.notEqual(await read(dir, 'gatehouse.crt'), 'mine\n');
  assert.ok(new X509Certificate(await read(dir, 'gatehouse.crt')).checkIssued(new X509Certificate(await read(dir, 'ca.crt'))));

  // --force over a full set replaces everything (new CA)
  const oldCa = await read(dir, 'ca.crt');
  await initDevCerts({ dir, ttlMs: HOUR, trustDomain: 'mesh.local', force: true });
  assert.notEqual(await read(dir, 'ca.crt'), oldCa);
  for (const k of KEYS) assert.equal((await stat(join(dir, k))).mode & 0o777, 0o600);
});

test('mutual TLS: upstream server + gatehouse client certificate, SPIFFE ID seen by the server', async () => {
  const ca = await read(shared, 'ca.crt');
  const r = await handshake({
    server: { cert: await read(shared, 'upstream.crt'), key: await read(shared, 'upstream.key'), ca, requestCert: true, rejectUnauthorized: true },
    client: { servername: 'localhost', ca, cert: await read(shared, 'gatehouse.crt'), key: await read(shared, 'gatehouse.key') },
  });
  assert.equal(r.clientError, undefined, String(r.clientError));
  assert.equal(r.serverError, undefined, String(r.serverError));
  assert.equal(r.data, 'hello');
  assert.equal(r.clientAuthorized, true);
  assert.equal(r.serverAuthorized, true);
  assert.match(r.serverSawClientSan ?? '', /URI:spiffe:\/\/mesh\.local\/ns\/edge\/sa\/gatehouse/);
  assert.match(r.clientSawServerSan ?? '', /URI:spiffe:\/\/mesh\.local\/ns\/demo\/sa\/echo/);
});

test('mutual TLS: a client certificate from another CA is refused', async () => {
  const ca = await read(shared, 'ca.crt');
  const serverOpts = { cert: await read(shared, 'upstream.crt'), key: await read(shared, 'upstream.key'), ca, requestCert: true };
  const client = { servername: 'localhost', ca, cert: await read(other, 'gatehouse.crt'), key: await read(other, 'gatehouse.key') };

  const r = await handshake({ server: { ...serverOpts, rejectUnauthorized: true }, client });
  assert.equal(r.serverAuthorized, undefined, 'the server never accepted the connection');
  assert.equal(r.data, '', 'the server never answered');
  assert.ok(r.serverError, 'the server dropped the handshake');

  // Why: with rejectUnauthorized off, the server sees the verification error for this certificate.
  const why = await handshake({ server: { ...serverOpts, rejectUnauthorized: false }, client });
  assert.equal(why.serverAuthorized, false);
  assert.match(why.serverAuthorizationError ?? '', /UNABLE_TO_GET_ISSUER_CERT_LOCALLY|UNABLE_TO_VERIFY_LEAF_SIGNATURE|CERT_SIGNATURE_FAILURE/);
});

test('mutual TLS: the server rejects a client without a certificate, and the client rejects a server from another CA', async () => {
  const ca = await read(shared, 'ca.crt');
  const serverOpts = { cert: await read(shared, 'upstream.crt'), key: await read(shared, 'upstream.key'), ca, requestCert: true, rejectUnauthorized: true };
  const noCert = await handshake({ server: serverOpts, client: { servername: 'localhost', ca } });
  assert.equal(noCert.data, '');
  assert.ok(noCert.serverError);

  const wrongServer = await handshake({
    server: { ...serverOpts, cert: await read(other, 'upstream.crt'), key: await read(other, 'upstream.key') },
    client: { servername: 'localhost', ca, cert: await read(shared, 'gatehouse.crt'), key: await read(shared, 'gatehouse.key') },
  });
  assert.equal(wrongServer.data, '');
  assert.match(String(wrongServer.clientError), /self.signed|unable to (get|verify)|certificate/i);
});

test('edge certificate: TLS with servername localhost and default checkServerIdentity; also by IP', async () => {
  const ca = await read(shared, 'ca.crt');
  const server = { cert: await read(shared, 'edge.crt'), key: await read(shared, 'edge.key') };
  const byName = await handshake({ server, client: { servername: 'localhost', ca } });
  assert.equal(byName.clientError, undefined, String(byName.clientError));
  assert.equal(byName.data, 'hello');

  const byIp = await handshake({ server, client: { ca } }); // host 127.0.0.1 → IP SAN check
  assert.equal(byIp.clientError, undefined, String(byIp.clientError));
  assert.equal(byIp.data, 'hello');

  const wrongName = await handshake({ server, client: { servername: 'example.com', ca } });
  assert.equal(wrongName.data, '');
  assert.match(String(wrongName.clientError), /altnames|Hostname\/IP does not match/i);

  const untrusted = await handshake({ server, client: { servername: 'localhost', ca: await read(other, 'ca.crt') } });
  assert.equal(untrusted.data, '');
  assert.ok(untrusted.clientError);
});

test('edge certificate: IPv6 loopback ::1', async (t) => {
  if (!(await ipv6Available())) {
    t.skip('no IPv6 loopback');
    return;
  }
  const ca = await read(shared, 'ca.crt');
  const r = await handshake({ host: '::1', server: { cert: await read(shared, 'edge.crt'), key: await read(shared, 'edge.key') }, client: { ca } });
  assert.equal(r.clientError, undefined, String(r.clientError));
  assert.equal(r.data, 'hello');
});

test('issue: cert verifies against the CA, written to caDir by default; rotation overwrites atomically', async (t) => {
  const dir = await tempDir(t);
  await initDevCerts({ dir, ttlMs: DAY, trustDomain: 'mesh.local', force: false });
  const caX = new X509Certificate(await read(dir, 'ca.crt'));
  const opts = { caDir: dir, name: 'checkout', dns: ['checkout.mesh.local'], ips: ['10.1.2.3'], spiffe: 'spiffe://mesh.local/ns/shop/sa/checkout', ttlMs: HOUR, usage: 'both' as const };

  const first = await issueCert(opts);
  assert.deepEqual(first.written, [join(dir, 'checkout.key'), join(dir, 'checkout.crt')]);
  assert.deepEqual(first.warnings, []);
  const x1 = new X509Certificate(await read(dir, 'checkout.crt'));
  assert.ok(x1.checkIssued(caX));
  assert.ok(x1.verify(caX.publicKey));
  assert.ok(x1.checkPrivateKey(createPrivateKey(await read(dir, 'checkout.key'))));
  assert.match(x1.subjectAltName ?? '', /DNS:checkout\.mesh\.local/);
  assert.match(x1.subjectAltName ?? '', /IP Address:10\.1\.2\.3/);
  assert.match(x1.subjectAltName ?? '', /URI:spiffe:\/\/mesh\.local\/ns\/shop\/sa\/checkout/);
  assert.equal((await stat(join(dir, 'checkout.key'))).mode & 0o777, 0o600);
  const life = new Date(x1.validTo).getTime() - Date.now();
  assert.ok(life > HOUR - 60_000 && life <= HOUR);

  const key1 = await read(dir, 'checkout.key');
  await issueCert(opts);
  const x2 = new X509Certificate(await read(dir, 'checkout.crt'));
  assert.notEqual(x2.serialNumber, x1.serialNumber, 'rotated');
  assert.notEqual(await read(dir, 'checkout.key'), key1, 'new key');
  assert.ok(x2.verify(caX.publicKey));
  assert.ok(x2.checkPrivateKey(createPrivateKey(await read(dir, 'checkout.key'))));
  assert.equal((await stat(join(dir, 'checkout.key'))).mode & 0o777, 0o600);
  assert.ok(!(await readdir(dir)).some((f) => f.endsWith('.tmp')), 'no temp files left');

  // rotate one of the init leaves in place: the gatehouse client cert still does mTLS
  await issueCert({ caDir: dir, name: 'gatehouse', dns: [], ips: [], spiffe: 'spiffe://mesh.local/ns/edge/sa/gatehouse', ttlMs: HOUR, usage: 'client' });
  const ca = await read(dir, 'ca.crt');
  const r = await handshake({
    server: { cert: await read(dir, 'upstream.crt'), key: await read(dir, 'upstream.key'), ca, requestCert: true, rejectUnauthorized: true },
    client: { servername: 'localhost', ca, cert: await read(dir, 'gatehouse.crt'), key: await read(dir, 'gatehouse.key') },
  });
  assert.equal(r.data, 'hello');
});

test('issue: --out elsewhere, usage, CA lifetime clamp, errors', async (t) => {
  const dir = await tempDir(t);
  await initDevCerts({ dir, ttlMs: HOUR, trustDomain: 'mesh.local', force: false });
  const out = join(await tempDir(t), 'nested', 'out');
  const { written, warnings } = await issueCert({ caDir: dir, name: 'svc', out, dns: ['svc.test'], ips: [], ttlMs: 365 * DAY, usage: 'server' });
  assert.deepEqual(written, [join(out, 'svc.key'), join(out, 'svc.crt')]);
  assert.equal(warnings.length, 1);
  const x = new X509Certificate(await read(out, 'svc.crt'));
  assert.deepEqual(x.keyUsage, ['1.3.6.1.5.5.7.3.1']);
  assert.ok(new Date(x.validTo) <= new Date(new X509Certificate(await read(dir, 'ca.crt')).validTo));

  const base = { caDir: dir, name: 'x', dns: ['x.test'], ips: [], ttlMs: HOUR, usage: 'both' as const };
  await assert.rejects(issueCert({ ...base, caDir: join(dir, 'missing') }), /cannot read the CA/);
  await assert.rejects(issueCert({ ...base, name: '../evil' }), /invalid name/);
  await assert.rejects(issueCert({ ...base, name: 'ca' }), /CA itself/);
  await assert.rejects(issueCert({ ...base, dns: [] }), /subject alternative name/);
  await assert.rejects(issueCert({ ...base, ips: ['nope'] }), /invalid IP/);
  const bogus = await tempDir(t);
  await mkdir(bogus, { recursive: true });
  await writeFile(join(bogus, 'ca.crt'), await read(dir, 'edge.crt'));
  await writeFile(join(bogus, 'ca.key'), await read(dir, 'edge.key'));
  await assert.rejects(issueCert({ ...base, caDir: bogus }), /not a CA/);
});

test('ensureDevCerts: creates when missing, no-op when complete, renews leaves from the same CA', async (t) => {
  const dir = join(await tempDir(t), 'certs');
  assert.equal(await ensureDevCerts(dir), true);
  assert.deepEqual((await readdir(dir)).sort(), [...DEV_CERT_FILES].sort());
  const snapshot = await Promise.all(DEV_CERT_FILES.map((f) => read(dir, f)));
  assert.equal(await ensureDevCerts(dir), false);
  assert.deepEqual(await Promise.all(DEV_CERT_FILES.map((f) => read(dir, f))), snapshot, 'untouched');

  // An expiring leaf is re-issued from the existing CA; the CA and other files stay.
  const caPem = await read(dir, 'ca.crt');
  const ca = { certPem: caPem, keyPem: await read(dir, 'ca.key') };
  const short = await issueLeaf(ca, { commonName: 'localhost', dns: ['localhost'], ttlMs: 60_000, usage: 'server' });
  await writeFile(join(dir, 'edge.crt'), short.certPem);
  await writeFile(join(dir, 'edge.key'), short.keyPem, { mode: 0o600 });
  assert.equal(await ensureDevCerts(dir), true);
  assert.equal(await read(dir, 'ca.crt'), caPem, 'CA kept');
  assert.equal(await read(dir, 'gatehouse.crt'), snapshot[DEV_CERT_FILES.indexOf('gatehouse.crt')], 'healthy leaf kept');
  const edge = new X509Certificate(await read(dir, 'edge.crt'));
  assert.ok(new Date(edge.validTo).getTime() - Date.now() > 23 * HOUR);
  assert.match(edge.subjectAltName ?? '', IPV6_LOOPBACK_SAN);

  // A leaf from a foreign CA is replaced too.
  const foreign = await createCa({ ttlMs: DAY });
  const f = await issueLeaf(foreign, { commonName: 'gatehouse', spiffe: 'spiffe://mesh.local/ns/edge/sa/gatehouse', ttlMs: DAY, usage: 'client' });
  await writeFile(join(dir, 'gatehouse.crt'), f.certPem);
  await writeFile(join(dir, 'gatehouse.key'), f.keyPem, { mode: 0o600 });
  assert.equal(await ensureDevCerts(dir), true);
  assert.ok(new X509Certificate(await read(dir, 'gatehouse.crt')).checkIssued(new X509Certificate(caPem)));

  // One missing file → the whole set again.
  await rm(join(dir, 'internal-token.key'));
  assert.equal(await ensureDevCerts(dir), true);
  assert.deepEqual((await readdir(dir)).sort(), [...DEV_CERT_FILES].sort());
  assert.notEqual(await read(dir, 'ca.crt'), caPem);
  for (const k of KEYS) assert.equal((await stat(join(dir, k))).mode & 0o777, 0o600);
});
