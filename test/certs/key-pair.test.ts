import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createPrivateKey, createPublicKey, sign, verify } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { encodedKeyPair } from '../../src/certs/key-pair.ts';

// src/certs/key-pair.ts: key pairs come out of node's generator as PEM, never as KeyObjects (node 20
// deadlocks when a generator's KeyObject is exported while the GC collects its job: the file says how).

/** A PEM block of this label, start to end. */
const pemBlock = (label: string) => new RegExp(`^-----BEGIN ${label}-----\\n[A-Za-z0-9+/=\\n]+-----END ${label}-----\\n$`);

test('encodedKeyPair: PEM pairs that import and sign, RSA 2048 and EC P-256', () => {
  for (const kind of ['rsa', 'ec'] as const) {
    const { privateKey, publicKey } = encodedKeyPair(kind);
    assert.match(privateKey, pemBlock('PRIVATE KEY'), 'PKCS#8');
    assert.match(publicKey, pemBlock('PUBLIC KEY'), 'SPKI');
    const priv = createPrivateKey(privateKey);
    assert.equal(priv.asymmetricKeyType, kind);
    if (kind === 'ec') assert.equal(priv.asymmetricKeyDetails?.namedCurve, 'prime256v1');
    else assert.equal(priv.asymmetricKeyDetails?.modulusLength, 2048);
    const data = Buffer.from('gatehouse');
    assert.ok(verify('sha256', data, createPublicKey(publicKey), sign('sha256', data, priv)));
    assert.ok(createPublicKey(priv).export({ format: 'jwk' }).kty, 'an imported key exports to JWK');
  }
});

test('no code generates a key pair as KeyObjects: every generator call asks for encodings', () => {
  const root = join(import.meta.dirname, '..', '..');
  const files: string[] = [];
  const walk = (dir: string) => {
    for (const name of readdirSync(dir)) {
      const p = join(dir, name);
      if (statSync(p).isDirectory()) walk(p);
      else if (p.endsWith('.ts')) files.push(p);
    }
  };
  for (const d of ['src', 'test', 'bench']) walk(join(root, d));
  const offenders: string[] = [];
  for (const f of files) {
    if (f === import.meta.filename) continue;
    const text = readFileSync(f, 'utf8');
    for (const m of text.matchAll(/generateKeyPair(?:Sync|Async)?\(/g)) {
      const call = text.slice(m.index, m.index + 400);
      if (!/privateKeyEncoding/.test(call)) offenders.push(`${f.slice(root.length + 1)}:${text.slice(0, m.index).split('\n').length}`);
    }
  }
  assert.deepEqual(offenders, [], 'use encodedKeyPair() (src/certs/key-pair.ts) or pass publicKeyEncoding and privateKeyEncoding');
});
