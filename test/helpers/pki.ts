import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { initDevCerts, issueCert } from '../../src/certs/dev-certs.ts';
import { testTempDir } from './tmp.ts';

// Development PKI for tests: generated once per test process in a temp dir, never committed.

export interface TestPki {
  dir: string;
  file(name: string): string;
  read(name: string): Buffer;
}

let cached: Promise<TestPki> | null = null;

function wrap(dir: string): TestPki {
  return { dir, file: (n) => join(dir, n), read: (n) => readFileSync(join(dir, n)) };
}

/** The dev CA set (ca, edge, gatehouse, upstream, internal-token) as `certs init` writes it. */
export function testPki(): Promise<TestPki> {
  cached ??= (async () => {
    const dir = testTempDir('gatehouse-pki-');
    await initDevCerts({ dir, ttlMs: 24 * 3_600_000, trustDomain: 'mesh.local', force: false });
    return wrap(dir);
  })();
  return cached;
}

/** A second, unrelated CA set: certificates nobody in the first set trusts. */
export async function otherPki(): Promise<TestPki> {
  const dir = testTempDir('gatehouse-pki-other-');
  await initDevCerts({ dir, ttlMs: 24 * 3_600_000, trustDomain: 'other.local', force: false });
  return wrap(dir);
}

/** Issues one more leaf from `pki`'s CA into `pki.dir` (rotation, extra SNI names). */
export async function issue(
  pki: TestPki,
  name: string,
  o: { dns?: string[]; ips?: string[]; spiffe?: string; usage?: 'server' | 'client' | 'both'; outDir?: string } = {},
): Promise<{ cert: string; key: string }> {
  const out = o.outDir ?? pki.dir;
  await issueCert({
    caDir: pki.dir,
    name,
    out,
    dns: o.dns ?? [],
    ips: o.ips ?? [],
    spiffe: o.spiffe,
    ttlMs: 3_600_000,
    usage: o.usage ?? 'server',
  });
  return { cert: join(out, `${name}.crt`), key: join(out, `${name}.key`) };
}

/**
 * A server leaf from `pki`'s CA with exactly these SANs, unchecked (`issue` refuses a DNS name that
 * is not a host name): e.g. a DNS SAN spelling a SPIFFE ID, as a careless mesh CA might sign.
 */
export async function issueRawSans(
  pki: TestPki,
  name: string,
  sans: ReadonlyArray<{ dns: string } | { uri: string }>,
): Promise<{ cert: string; key: string }> {
  const forge = (await import('node-forge')).default;
  const { encodedKeyPair } = await import('../../src/certs/key-pair.ts');
  const { writeFileSync } = await import('node:fs');
  const caCert = forge.pki.certificateFromPem(pki.read('ca.crt').toString());
  const caKey = forge.pki.privateKeyFromPem(pki.read('ca.key').toString());
  const { privateKey, publicKey } = encodedKeyPair('rsa'); // PEM: see src/certs/key-pair.ts
  const cert = forge.pki.createCertificate();
  cert.publicKey = forge.pki.publicKeyFromPem(publicKey);
  cert.serialNumber = '01' + Date.now().toString(16);
  cert.validity.notBefore = new Date(Date.now() - 60_000);
  cert.validity.notAfter = new Date(Date.now() + 3_600_000);
  cert.setSubject([{ shortName: 'CN', value: name }]);
  cert.setIssuer(caCert.subject.attributes);
  cert.setExtensions([
    { name: 'basicConstraints', cA: false },
    { name: 'keyUsage', digitalSignature: true, keyEncipherment: true },
    { name: 'extKeyUsage', serverAuth: true },
    { name: 'subjectAltName', altNames: sans.map((s) => ('dns' in s ? { type: 2, value: s.dns } : { type: 6, value: s.uri })) },
  ]);
  cert.sign(caKey, forge.md.sha256.create());
  const out = { cert: join(pki.dir, `${name}.crt`), key: join(pki.dir, `${name}.key`) };
  writeFileSync(out.cert, forge.pki.certificateToPem(cert));
  writeFileSync(out.key, privateKey, { mode: 0o600 });
  return out;
}
