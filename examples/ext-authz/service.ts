import { createHash, createPrivateKey, createPublicKey, timingSafeEqual } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import {
  calculateJwkThumbprint,
  createLocalJWKSet,
  createRemoteJWKSet,
  importPKCS8,
  jwtVerify,
  SignJWT,
  type CryptoKey,
  type JSONWebKeySet,
  type JWK,
  type JWTVerifyGetKey,
} from 'jose';
import { Redis } from 'ioredis';
import { grpcService } from '../../src/grpc/protos.ts';

// An Envoy ext_authz service (envoy.service.auth.v3.Authorization/Check) that does what the story's Go
// service did: it accepts a caller by API key (`x-api-key`) or by edge access token
// (`Authorization: Bearer <jwt>`, verified against the edge IdP's JWKS), mints an RS256 internal token
// for the mesh with a 15-minute lifetime, caches it in Redis for 14.5 minutes per caller (so every
// replica hands out the same token and the mesh always gets one with at least 30 s left), and returns
// it as a header toward the upstream. The credential it consumed is removed from the request.
//
// It speaks the API exactly as Envoy defines it, so the same service sits behind gatehouse
// (`extAuthz: { grpc: … }`) or Envoy's `envoy.filters.http.ext_authz` (see README.md). Redis trouble
// never fails a check: the token is minted without the cache.

export interface ApiKey {
  /** The key as the caller sends it. Only its SHA-256 is kept in memory. */
  readonly key: string;
  /** The caller's identity: the internal token's `sub`. */
  readonly sub: string;
}

export interface AuthzServiceOptions {
  /** host:port to listen on (port 0: any free port). */
  readonly address: string;
  readonly apiKeys: readonly ApiKey[];
  /** Edge access tokens: issuer, audience and keys (a JWKS URL or an inline key set). */
  readonly edge?: { readonly issuer: string; readonly audience: string; readonly jwksUri?: string; readonly jwks?: JSONWebKeySet };
  /** RSA private key (PEM) for the internal token. */
  readonly signingKeyPem: string;
  readonly internalIssuer: string;
  readonly internalAudience: string;
  /** Header carrying `Bearer <internal token>` toward the upstream. */
  readonly header?: string;
  /** Redis for the shared token cache; absent: every check mints. */
  readonly redisUrl?: string;
  /** Prefix of the cache keys. */
  readonly keyPrefix?: string;
}

export const TOKEN_TTL_S = 15 * 60;
export const CACHE_TTL_MS = 14.5 * 60 * 1000;
const REDIS_TIMEOUT_MS = 200;

/** gRPC status codes used in CheckResponse.status (google.rpc.Code). */
const Code = { OK: 0, PERMISSION_DENIED: 7, UNAUTHENTICATED: 16 } as const;

interface Caller {
  readonly sub: string;
  readonly method: 'api_key' | 'jwt';
}

/** What a CheckRequest looks like through the proto loader (only what this service reads). */
interface CheckRequest {
  attributes?: { request?: { http?: { headers?: Record<string, string> } } };
}

function sha256(s: string): Buffer {
  return createHash('sha256').update(s).digest();
}

function denied(httpStatus: number, code: number, error: string, description: string, realm: string): object {
  const challenge = error === 'invalid_token' ? `Bearer realm="${realm}", error="invalid_token"` : `Bearer realm="${realm}"`;
  return {
    status: { code, message: description },
    denied_response: {
      status: { code: httpStatus },
      headers: [
        { header: { key: 'www-authenticate', value: challenge }, append: { value: false } },
        { header: { key: 'content-type', value: 'application/json' }, append: { value: false } },
      ],
      body: JSON.stringify({ error, message: description }),
    },
  };
}

/** Overwrite (never append): a copy a client sent itself must not survive next to the real one. */
function overwrite(key: string, value: string): object {
  return { header: { key, value }, append: { value: false }, append_action: 'OVERWRITE_IF_EXISTS_OR_ADD' };
}

export class ExtAuthzExample {
  private readonly keys: ReadonlyArray<{ hash: Buffer; sub: string }>;
  private readonly edgeKeys: JWTVerifyGetKey | null;
  private readonly header: string;
  private readonly redis: Redis | null;
  private readonly prefix: string;
  private signing: { key: CryptoKey; kid: string; publicJwk: JWK } | null = null;
  /** Internal tokens signed by this process (the test reads it to see the cache work). */
  minted = 0;

  constructor(private readonly o: AuthzServiceOptions) {
    this.keys = o.apiKeys.map((k) => ({ hash: sha256(k.key), sub: k.sub }));
    this.edgeKeys = o.edge?.jwksUri ? createRemoteJWKSet(new URL(o.edge.jwksUri)) : o.edge?.jwks ? createLocalJWKSet(o.edge.jwks) : null;
    this.header = (o.header ?? 'x-internal-token').toLowerCase();
    this.prefix = o.keyPrefix ?? 'ext-authz:internal-token:';
    this.redis = o.redisUrl
      ? new Redis(o.redisUrl, { maxRetriesPerRequest: 0, enableOfflineQueue: false, connectTimeout: 1_000, lazyConnect: false })
      : null;
    this.redis?.on('error', () => undefined); // reported per call as a cache miss
  }

  private async signingKey(): Promise<{ key: CryptoKey; kid: string; publicJwk: JWK }> {
    if (this.signing) return this.signing;
    const priv = createPrivateKey(this.o.signingKeyPem);
    if (priv.asymmetricKeyType !== 'rsa') throw new Error('the signing key must be RSA (RS256)');
    const key = await importPKCS8(priv.export({ type: 'pkcs8', format: 'pem' }) as string, 'RS256');
    const pub = createPublicKey(priv).export({ format: 'jwk' }) as JWK;
    const kid = await calculateJwkThumbprint(pub, 'sha256');
    this.signing = { key, kid, publicJwk: { ...pub, kid, alg: 'RS256', use: 'sig' } };
    return this.signing;
  }

  /** The public key of the internal token as a JWKS: what the mesh verifies the token with. */
  async publicJwks(): Promise<{ keys: JWK[] }> {
    return { keys: [(await this.signingKey()).publicJwk] };
  }

  private byApiKey(presented: string): Caller | null {
    const h = sha256(presented);
    let found: Caller | null = null;
    // Compare with every key in constant time: the time taken does not tell which key came close.
    for (const k of this.keys) if (timingSafeEqual(h, k.hash)) found = { sub: k.sub, method: 'api_key' };
    return found;
  }

  private async byToken(token: string): Promise<Caller | null> {
    const edge = this.o.edge;
    if (!edge || !this.edgeKeys) return null;
    try {
      const { payload } = await jwtVerify(token, this.edgeKeys, {
        issuer: edge.issuer,
        audience: edge.audience,
        algorithms: ['RS256', 'ES256'],
        requiredClaims: ['exp', 'sub'],
      });
      return { sub: String(payload.sub), method: 'jwt' };
    } catch {
      return null;
    }
  }

  private async mint(caller: Caller): Promise<string> {
    const { key, kid } = await this.signingKey();
    this.minted++;
    const now = Math.floor(Date.now() / 1000);
    return new SignJWT({ auth_method: caller.method })
      .setProtectedHeader({ alg: 'RS256', kid, typ: 'JWT' })
      .setIssuer(this.o.internalIssuer)
      .setAudience(this.o.internalAudience)
      .setSubject(caller.sub)
      .setIssuedAt(now)
      .setExpirationTime(now + TOKEN_TTL_S)
      .sign(key);
  }

  private cacheKey(caller: Caller): string {
    return this.prefix + createHash('sha256').update(`${caller.method}:${caller.sub}`).digest('hex');
  }

  /** A Redis call that gives up quickly: the cache must never be what makes a check slow. */
  private async redisCall<T>(op: (r: Redis) => Promise<T>): Promise<T | null> {
    const r = this.redis;
    if (!r || r.status !== 'ready') return null;
    let timer: NodeJS.Timeout | undefined;
    try {
      return await Promise.race([op(r), new Promise<null>((res) => (timer = setTimeout(() => res(null), REDIS_TIMEOUT_MS)))]);
    } catch {
      return null;
    } finally {
      clearTimeout(timer);
    }
  }

  /** The caller's internal token: from Redis when another check (or replica) minted it, else a new one. */
  async tokenFor(caller: Caller): Promise<string> {
    const k = this.cacheKey(caller);
    const cached = await this.redisCall((r) => r.get(k));
    if (cached) return cached;
    const token = await this.mint(caller);
    await this.redisCall((r) => r.set(k, token, 'PX', CACHE_TTL_MS));
    return token;
  }

  /** One Check: the CheckResponse object (Envoy's field names). */
  async check(req: CheckRequest): Promise<object> {
    const headers = req.attributes?.request?.http?.headers ?? {};
    const realm = 'ext-authz-example';
    let caller: Caller | null = null;
    let consumed: string;
    const apiKey = headers['x-api-key'];
    const auth = headers.authorization;
    if (apiKey !== undefined) {
      caller = this.byApiKey(apiKey);
      consumed = 'x-api-key';
    } else if (auth !== undefined && /^bearer /i.test(auth)) {
      caller = await this.byToken(auth.slice(7).trim());
      consumed = 'authorization';
    } else {
      return denied(401, Code.UNAUTHENTICATED, 'unauthenticated', 'an API key or an access token is required', realm);
    }
    if (caller === null) return denied(401, Code.UNAUTHENTICATED, 'invalid_token', 'the credential is not valid', realm);
    const token = await this.tokenFor(caller);
    return {
      status: { code: Code.OK },
      ok_response: {
        headers: [overwrite(this.header, `Bearer ${token}`)],
        headers_to_remove: [consumed],
      },
    };
  }

  close(): void {
    this.redis?.disconnect();
  }
}

export interface RunningService {
  readonly service: ExtAuthzExample;
  readonly port: number;
  stop(): Promise<void>;
}

/** Starts the gRPC server (plaintext, as a sidecar or on a private network; put TLS in front as needed). */
export async function startAuthzService(o: AuthzServiceOptions): Promise<RunningService> {
  const service = new ExtAuthzExample(o);
  const server = new grpc.Server();
  server.addService(grpcService('envoy.service.auth.v3.Authorization').service, {
    Check: (call: grpc.ServerUnaryCall<CheckRequest, object>, callback: grpc.sendUnaryData<object>) => {
      service.check(call.request).then(
        (answer) => callback(null, answer),
        // Signing failed, say: no decision. The proxy answers 403 (or lets through with failure-mode-allow).
        () => callback({ code: grpc.status.INTERNAL, details: 'authorization failed' }),
      );
    },
  });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync(o.address, grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
  );
  return {
    service,
    port,
    stop: () =>
      new Promise<void>((resolve) => {
        service.close();
        server.tryShutdown(() => resolve());
      }),
  };
}
