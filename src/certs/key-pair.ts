import { generateKeyPairSync } from 'node:crypto';

/**
 * A new key pair, as PEM (PKCS#8 private, SPKI public), generated synchronously.
 *
 * Always ask node's generator for encoded keys. A KeyObject it returns shares a lock with the
 * generation job, and the job's destructor takes that lock when the GC collects it. If a collection
 * happens while the same key is being exported (say, to JWK), the thread waits on a lock it already
 * holds. That is node 20: a fault test hung in `KeyObjectHandle::ExportJWK` → GC → `~KeyGenJob`.
 * Keys imported from PEM have locks of their own.
 */
export function encodedKeyPair(kind: 'rsa' | 'ec'): { privateKey: string; publicKey: string } {
  const publicKeyEncoding = { type: 'spki', format: 'pem' } as const;
  const privateKeyEncoding = { type: 'pkcs8', format: 'pem' } as const;
  return kind === 'rsa'
    ? generateKeyPairSync('rsa', { modulusLength: 2048, publicKeyEncoding, privateKeyEncoding })
    : generateKeyPairSync('ec', { namedCurve: 'P-256', publicKeyEncoding, privateKeyEncoding });
}
