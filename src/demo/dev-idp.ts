import { createPrivateKey, createPublicKey } from 'node:crypto';
import { encodedKeyPair } from '../certs/key-pair.ts';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { exportJWK, SignJWT } from 'jose';
import { writeFilesAtomic } from '../certs/atomic.ts';

// A development identity provider for the demo (`npm start`): an ES256 key pair in the certificate
// folder (demo-idp.key, 0600, and its public JWKS, demo-idp.jwks.json, which config/gateway.yaml
// names as `jwksFile`), and tokens minted with it so a newcomer can call the route that needs a
// JWT. Development only: a real deployment points `jwksUri` at its identity provider.

export const DEMO_ISSUER = 'https://idp.gatehouse.demo';
export const DEMO_AUDIENCE = 'gatehouse-demo';
const KID = 'demo-idp-1';

export function demoIdpFiles(certDir: string): { key: string; jwks: string } {
  return { key: join(certDir, 'demo-idp.key'), jwks: join(certDir, 'demo-idp.jwks.json') };
}

/** Creates the demo key pair and JWKS when missing; true when it created them. */
export async function ensureDemoIdp(certDir: string): Promise<boolean> {
  const f = demoIdpFiles(certDir);
  try {
    await Promise.all([readFile(f.key), readFile(f.jwks)]);
    return false;
  } catch {
    /* missing: create both */
  }
  const pem = encodedKeyPair('ec').privateKey; // never a KeyObject from the generator (key-pair.ts)
  const jwk = { ...(await exportJWK(createPublicKey(pem))), kid: KID, alg: 'ES256', use: 'sig' };
  await writeFilesAtomic([
    { path: f.key, data: pem, mode: 0o600 },
    { path: f.jwks, data: `${JSON.stringify({ keys: [jwk] }, null, 2)}\n`, mode: 0o644 },
  ]);
  return true;
}

/** A token the demo's `account` route accepts: sub `demo-user`, valid for `ttlSeconds`. */
export async function mintDemoToken(certDir: string, ttlSeconds = 3600): Promise<string> {
  const key = createPrivateKey(await readFile(demoIdpFiles(certDir).key));
  return new SignJWT({ email: 'demo-user@example.com', groups: ['demo'] })
    .setProtectedHeader({ alg: 'ES256', kid: KID, typ: 'JWT' })
    .setIssuer(DEMO_ISSUER)
    .setAudience(DEMO_AUDIENCE)
    .setSubject('demo-user')
    .setIssuedAt()
    .setExpirationTime(`${ttlSeconds}s`)
    .sign(key);
}
