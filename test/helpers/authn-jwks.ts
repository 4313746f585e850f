import http from 'node:http';
import https from 'node:https';
import { createHmac, createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';
import { encodedKeyPair } from '../../src/certs/key-pair.ts';
import type { AddressInfo } from 'node:net';
import { exportJWK, SignJWT, type JWK, type JWTPayload } from 'jose';
import type { TestPki } from './pki.ts';

// Test identity provider: key pairs (RSA, EC), a real JWKS server on loopback (HTTP, or HTTPS with
// the test CA) whose published keys and response shape can change, and token signing with jose.

export interface TestKey {
  kid: string;
  alg: 'RS256' | 'ES256';
  privateKey: KeyObject;
  publicKey: KeyObject;
  jwk: JWK;
}

export async function makeKey(kid: string, kind: 'rsa' | 'ec'): Promise<TestKey> {
  // Generated as PEM, then imported: a KeyObject straight from the generator shares its lock with the
  // generation job, and node 20 deadlocks when that job is collected during an export (encodedKeyPair).
  const privateKey = createPrivateKey(encodedKeyPair(kind).privateKey);
  const publicKey = createPublicKey(privateKey);
  const alg = kind === 'rsa' ? 'RS256' : 'ES256';
  const jwk = { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' };
  return { kid, alg, privateKey, publicKey, jwk };
}

export interface JwksServer {
  url: string;
  port: number;
  /** Requests served so far. */
  hits: number;
  /** Keys currently published. */
  keys: TestKey[];
  /** Cloudflare's certs shape: adds public_cert / public_certs beside keys. */
  cloudflareShape: boolean;
  /** While set, requests wait for it before they are answered (a slow JWKS server). */
  gate: Promise<void> | null;
  /** Answer with this status instead of the key set (a failing JWKS server). */
  failWith: number | null;
  /** Answer 200 with this body instead of the key set (a broken JWKS server). */
  rawBody: string | null;
  stop(): Promise<void>;
}

export async function startJwksServer(keys: TestKey[], o: { tls?: TestPki; path?: string } = {}): Promise<JwksServer> {
  const path = o.path ?? '/jwks.json';
  const state: JwksServer = {
    url: '',
    port: 0,
    hits: 0,
    keys,
    cloudflareShape: false,
    gate: null,
    failWith: null,
    rawBody: null,
    stop: async () => undefined,
  };
  const handler = async (req: http.IncomingMessage, res: http.ServerResponse) => {
    if (state.gate) await state.gate;
    if (state.failWith !== null) {
      state.hits++;
      res.writeHead(state.failWith).end('nope');
      return;
    }
    if (state.rawBody !== null) {
      state.hits++;
      res.writeHead(200, { 'content-type': 'application/json' }).end(state.rawBody);
      return;
    }
    if (req.url !== path) {
      res.writeHead(404).end();
      return;
    }
    state.hits++;
    const body: Record<string, unknown> = { keys: state.keys.map((k) => k.jwk) };
    if (state.cloudflareShape) {
      body.public_cert = { kid: state.keys[0]?.kid, cert: '-----BEGIN CERTIFICATE-----\nnot-used\n-----END CERTIFICATE-----\n' };
      body.public_certs = state.keys.map((k) => ({ kid: k.kid, cert: '-----BEGIN CERTIFICATE-----\nnot-used\n-----END CERTIFICATE-----\n' }));
    }
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  };
  const server = o.tls
    ? https.createServer({ cert: o.tls.read('upstream.crt'), key: o.tls.read('upstream.key') }, handler)
    : http.createServer(handler);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  state.port = (server.address() as AddressInfo).port;
  state.url = `${o.tls ? 'https' : 'http'}://${o.tls ? 'localhost' : '127.0.0.1'}:${state.port}${path}`;
  state.stop = () =>
    new Promise<void>((r) => {
      server.close(() => r());
      server.closeAllConnections();
    });
  return state;
}

export interface SignOptions {
  iss?: string;
  aud?: string | string[];
  /** Seconds from now; default 300. */
  expIn?: number | null;
  nbfIn?: number;
  iatIn?: number;
  kid?: string;
}

export function sign(key: TestKey, claims: JWTPayload, o: SignOptions = {}): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  let j = new SignJWT(claims)
    // kid: '' leaves the kid out of the header.
    .setProtectedHeader(o.kid === '' ? { alg: key.alg, typ: 'JWT' } : { alg: key.alg, kid: o.kid ?? key.kid, typ: 'JWT' })
    .setIssuer(o.iss ?? 'https://idp.test')
    .setAudience(o.aud ?? 'gatehouse-test')
    .setIssuedAt(now + (o.iatIn ?? 0));
  if (o.expIn !== null) j = j.setExpirationTime(now + (o.expIn ?? 300));
  if (o.nbfIn !== undefined) j = j.setNotBefore(now + o.nbfIn);
  return j.sign(key.privateKey);
}

/** base64url of a JSON value (hand-made tokens: alg none, HS256 confusion, tampering). */
export function b64url(v: unknown): string {
  return Buffer.from(typeof v === 'string' ? v : JSON.stringify(v)).toString('base64url');
}

/**
 * Every way a token can be bad, for an issuer `https://idp.test` and audience `gatehouse-test` that
 * trust `key`: expired, wrong issuer/audience, alg none, HMAC confusion, foreign or tampered
 * signatures, truncated, garbage, oversized. `stranger` is a key nobody trusts.
 */
export async function badTokenMatrix(key: TestKey, stranger: TestKey, claims: JWTPayload): Promise<Array<[string, string]>> {
  const now = Math.floor(Date.now() / 1000);
  const good = await sign(key, claims);
  const [h, p, s] = good.split('.');
  const pem = createPublicKey(key.privateKey).export({ type: 'spki', format: 'pem' }) as string;
  const hsHeader = b64url({ alg: 'HS256', kid: key.kid, typ: 'JWT' });
  const hsPayload = b64url({ ...claims, iss: 'https://idp.test', aud: 'gatehouse-test', iat: now, exp: now + 300 });
  const hsSig = createHmac('sha256', pem).update(`${hsHeader}.${hsPayload}`).digest('base64url');
  const noneHeader = b64url({ alg: 'none', kid: key.kid, typ: 'JWT' });
  const tampered = b64url({ ...claims, sub: 'root', iss: 'https://idp.test', aud: 'gatehouse-test', iat: now, exp: now + 300 });
  return [
    ['expired', await sign(key, claims, { expIn: -600, iatIn: -900 })],
    ['not yet valid', await sign(key, claims, { nbfIn: 600 })],
    ['issued in the future', await sign(key, claims, { iatIn: 600, expIn: 900 })],
    ['no exp', await sign(key, claims, { expIn: null })],
    ['wrong issuer', await sign(key, claims, { iss: 'https://evil.test' })],
    ['wrong audience', await sign(key, claims, { aud: 'someone-else' })],
    ['alg none', `${noneHeader}.${hsPayload}.`],
    ['HS256 with the RSA public key as secret', `${hsHeader}.${hsPayload}.${hsSig}`],
    ['unknown kid', await sign(stranger, claims)],
    ['known kid, wrong key', await sign(stranger, claims, { kid: key.kid })],
    ['tampered payload', `${h}.${tampered}.${s}`],
    ['truncated', good.slice(0, good.length - 12)],
    ['truncated to two parts', `${h}.${p}`],
    ['garbage', 'not-a-jwt'],
    ['garbage with dots', 'a.b.c'],
    ['binary junk', '\u00ff\u00fe.%%%.$$$'],
    ['64 KB token', `${h}.${'A'.repeat(64 * 1024)}.${s}`],
  ];
}
