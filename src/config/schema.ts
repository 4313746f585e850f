/**
 * The whole YAML configuration schema (SPEC "Configuration"), in zod v4.
 *
 * - Every object is strict: an unknown key is an error (a typo must not silently do nothing).
 * - Durations are strings in YAML and milliseconds (numbers) in the output.
 * - File paths are made absolute against the process working directory (`path.resolve`), so the
 *   snapshot does not depend on where it is later read from.
 * - Defaults are filled in, so the runtime never has to know them.
 * - Checks that need only one value (address format, CIDR, regex syntax, "exactly one of") live here so
 *   they are reported together with every other shape error; cross-references and the filesystem are
 *   checked afterwards in validate.ts.
 *
 * Messages are made human in zod-errors.ts; the ones written here are already final.
 */
import path from 'node:path';
import { z } from 'zod';
import {
  addressError,
  cidrError,
  dnsServerError,
  domainError,
  HEADER_NAME,
  httpUrlError,
  isHostname,
  METHOD,
  redirectTargetError,
  regexError,
} from './checks.ts';
import { parseDuration } from './duration.ts';
import { parseSanEntry } from '../upstream/san-match.ts';
import { cipherListError, curveListError, DEFAULT_CIPHERS, DEFAULT_ECDH_CURVES } from '../listener/tls-profile.ts';

// ───────────────────────────── building blocks ─────────────────────────────

type Check = (s: string) => string | null;

/** A non-empty string that passes `check` (whose message becomes the issue). */
function checked(check: Check) {
  return z
    .string()
    .min(1)
    .superRefine((s, ctx) => {
      const msg = check(s);
      if (msg !== null) ctx.addIssue({ code: 'custom', message: msg });
    });
}

const text = () => z.string().min(1);
const name = () => text();
const address = () => checked(addressError);
const cidr = () => checked(cidrError);
const headerName = () => checked((s) => (HEADER_NAME.test(s) ? null : 'expected an HTTP header name'));
const method = () => checked((s) => (METHOD.test(s) ? null : 'expected an HTTP method in upper case, e.g. GET'));
const regex = () => checked(regexError);
const urlPath = () => checked((s) => (s.startsWith('/') ? null : 'must start with /'));
const port = () => z.int().min(1).max(65535);
const percent = () => z.number().min(0).max(100);
const posInt = () => z.int().min(1);
const tlsVersion = () => z.enum(['TLSv1.2', 'TLSv1.3']);

/** A file path, resolved against the process working directory; existence is checked in validate.ts. */
const filePath = () =>
  text().transform((p) => path.resolve(p));

export const DURATION_HINT = '(use e.g. 250ms, 10s, 5m, 1h30m)';

/** A duration string → milliseconds. Zero only where it makes sense (`allowZero`). */
function duration(opts: { allowZero?: boolean } = {}) {
  return z
    .string({ error: (iss) => (iss.input === undefined ? undefined : 'expected a duration like 10s') })
    .transform((s, ctx) => {
      const ms = parseDuration(s);
      if (ms === null) {
        ctx.addIssue({ code: 'custom', message: `invalid duration ${JSON.stringify(s)} ${DURATION_HINT}` });
        return z.NEVER;
      }
      if (ms === 0 && !opts.allowZero) {
        ctx.addIssue({ code: 'custom', message: 'must be greater than 0s' });
        return z.NEVER;
      }
      return ms;
    });
}

/** Duration with a default given in the same string form as the YAML (`'10s'`). */
function durationDefault(def: string, opts: { allowZero?: boolean } = {}) {
  const ms = parseDuration(def);
  if (ms === null) throw new Error(`bad default duration ${def}`);
  return duration(opts).default(ms);
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * "Exactly one of `keys`" on an object. It runs even when sibling fields have errors (`when`), so the
 * user sees every mistake at once; it only needs to know which keys are present.
 */
function exactlyOneOf(keys: readonly string[]) {
  return z.superRefine<Record<string, unknown>>(
    (obj, ctx) => {
      const present = keys.filter((k) => obj[k] !== undefined);
      if (present.length === 0) {
        ctx.addIssue({ code: 'custom', message: `exactly one of ${keys.join(', ')} is required` });
      } else if (present.length > 1) {
        ctx.addIssue({
          code: 'custom',
          message: `only one of ${keys.join(', ')} may be set (found ${present.join(' and ')})`,
        });
      }
    },
    { when: (p) => isRecord(p.value) },
  );
}

/** `b` is required when `a` is set, and the other way round (certFile/keyFile). */
function together(a: string, b: string) {
  return z.superRefine<Record<string, unknown>>(
    (obj, ctx) => {
      if (obj[a] !== undefined && obj[b] === undefined) {
        ctx.addIssue({ code: 'custom', path: [b], message: `required when ${a} is set` });
      } else if (obj[b] !== undefined && obj[a] === undefined) {
        ctx.addIssue({ code: 'custom', path: [a], message: `required when ${b} is set` });
      }
    },
    { when: (p) => isRecord(p.value) },
  );
}

// ───────────────────────────── top-level services ─────────────────────────────

export const adminSchema = z.strictObject({
  address: address().default('127.0.0.1:9901'),
  /** Bearer token callers must present when they are not on loopback. */
  token: text().optional(),
});

/** `accessLog.path` values that are not file paths. */
export const ACCESS_LOG_STREAMS = ['stdout', 'stderr', 'off'] as const;

export const accessLogSchema = z.strictObject({
  /** `stdout`, `stderr`, `off` (no access log), or a file path (made absolute). */
  path: text()
    .default('stdout')
    .transform((p) => ((ACCESS_LOG_STREAMS as readonly string[]).includes(p) ? p : path.resolve(p))),
  /** Share (0–1) of 2xx lines written; every other status is always logged. */
  sample2xx: z.number().min(0).max(1).default(1),
});

export const tracingSchema = z.strictObject({
  otlp: z.strictObject({
    endpoint: checked((s) => httpUrlError(s, { allowHttp: true })),
  }),
  /** Share of new traces sampled (a propagated parent's sampled flag wins). */
  sampleRatio: z.number().min(0).max(1).default(1),
});

export const overloadSchema = z.strictObject({
  /** Above this event-loop delay new requests get 503 `overloaded` with Retry-After. */
  maxEventLoopDelay: duration().optional(),
  /** Above this V8 heap use new requests get 503 `overloaded` with Retry-After. */
  maxHeapUsedBytes: posInt().optional(),
  /** Client connections open at once across every listener; more are closed at accept. */
  maxConnections: posInt().optional(),
});

export const grpcHealthSchema = z.strictObject({
  address: address().default('127.0.0.1:9902'),
});

export const drainSchema = z.strictObject({
  /** Keep serving this long after readiness turns 503, so the cloud LB takes the instance out. */
  delay: durationDefault('5s', { allowZero: true }),
  /** Upper bound for in-flight requests to finish after the listeners stop accepting. */
  timeout: durationDefault('30s'),
});

export const dnsSchema = z.strictObject({
  servers: z.array(checked(dnsServerError)).min(1),
});

// ───────────────────────────── listeners ─────────────────────────────

export const listenerCertificateSchema = z.strictObject({
  certFile: filePath(),
  keyFile: filePath(),
  /** SNI names this certificate answers (exact or `*.suffix`); the first certificate is the default. */
  serverNames: z.array(checked(domainError)).default(() => []),
});

export const listenerTlsSchema = z.strictObject({
  certificates: z.array(listenerCertificateSchema).min(1),
  minVersion: tlsVersion().default('TLSv1.2'),
  /**
   * OpenSSL cipher list (`:`-separated). Default: Mozilla intermediate (TLS 1.2 ECDHE with AES-GCM or
   * ChaCha20-Poly1305, every TLS 1.3 suite). TLS 1.3 suites (TLS_*) are added when none is named.
   */
  ciphers: checked(cipherListError).default(DEFAULT_CIPHERS),
  /** Key-exchange groups, most preferred first (OpenSSL names). */
  ecdhCurves: checked(curveListError).default(DEFAULT_ECDH_CURVES),
  /** Offer h2 and http/1.1 over ALPN. */
  http2: z.boolean().default(true),
});

export const listenerLimitsSchema = z.strictObject({
  maxHeaderBytes: posInt().default(16384),
  maxBodyBytes: z.int().min(0).default(10485760),
  headersTimeout: durationDefault('10s'),
  requestTimeout: durationDefault('60s'),
  idleTimeout: durationDefault('60s'),
  http2MaxConcurrentStreams: posInt().default(100),
  maxConnections: posInt().default(10000),
  /**
   * A request header name with an underscore (`x_auth_sub`): `reject` answers 400, `drop` removes the
   * header before routing. Many servers (CGI, PHP, nginx with underscores_in_headers) read `_` as `-`,
   * so such a name could pose as an identity header the gateway sets (Envoy's headers_with_underscores_action).
   */
  headersWithUnderscores: z.enum(['reject', 'drop']).default('reject'),
});

export const trustedProxiesSchema = z.strictObject({
  cidrs: z.array(cidr()).default(() => []),
});

export const listenerSchema = z.strictObject({
  name: name(),
  address: address(),
  tls: listenerTlsSchema.optional(),
  proxyProtocol: z.boolean().default(false),
  trustedProxies: trustedProxiesSchema.prefault({}),
  limits: listenerLimitsSchema.prefault({}),
  /** Plain listener that answers every request with a 308 to the first TLS listener. */
  redirectToHttps: z.boolean().default(false),
});

// ───────────────────────────── authn / rate limits ─────────────────────────────

/** Asymmetric algorithms only: HS* with a public JWKS would be an algorithm-confusion hole. */
export const JWT_ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA'] as const;

export const tokenSourceSchema = z
  .strictObject({
    header: headerName().optional(),
    /** Stripped from the header value, e.g. `"Bearer "`. */
    prefix: z.string().optional(),
    cookie: text().optional(),
  })
  .check(exactlyOneOf(['header', 'cookie']))
  .superRefine((v, ctx) => {
    if (v.prefix !== undefined && v.header === undefined) {
      ctx.addIssue({ code: 'custom', path: ['prefix'], message: 'only applies to a header' });
    }
  });

/** An inline JWKS: `{ keys: [ <JWK>, … ] }` (JWK members are not listed one by one). */
export const inlineJwksSchema = z.strictObject({
  keys: z.array(z.record(z.string(), z.unknown())).min(1),
});

export const authnProviderSchema = z
  .strictObject({
    name: name(),
    issuer: text(),
    audiences: z.array(text()).min(1),
    jwksUri: checked((s) => httpUrlError(s)).optional(),
    jwksFile: filePath().optional(),
    jwks: inlineJwksSchema.optional(),
    /** Extra CA certificates for jwksUri, added to the system CAs. */
    jwksCaFile: filePath().optional(),
    algorithms: z.array(z.enum(JWT_ALGORITHMS)).min(1).default(() => [...JWT_ALGORITHMS]),
    /** Tried in order; the first one present is used. */
    tokenFrom: z.array(tokenSourceSchema).min(1).default(() => [{ header: 'Authorization', prefix: 'Bearer ' }]),
    clockSkew: durationDefault('30s', { allowZero: true }),
    /** claim name → request header toward the mesh. */
    claimsToHeaders: z.record(text(), headerName()).default(() => ({})),
    /** false: strip the edge token before the mesh. */
    forwardToken: z.boolean().default(false),
  })
  .check(exactlyOneOf(['jwksUri', 'jwksFile', 'jwks']));

export const internalTokenSchema = z.strictObject({
  issuer: text(),
  audience: text(),
  /** RSA or EC private key (PEM). */
  signingKeyFile: filePath(),
  ttl: durationDefault('15m'),
  /** Sent as `Bearer <jwt>`. */
  header: headerName().default('x-mesh-authorization'),
  cache: z.enum(['memory', 'redis']).default('memory'),
});

export const authnSchema = z.strictObject({
  providers: z.array(authnProviderSchema).default(() => []),
  internalToken: internalTokenSchema.optional(),
});

/** `clientIp`, `route`, `claim:<path>` (dots walk nested claims), `header:<name>`. */
const rateLimitKeyPart = () =>
  checked((s) =>
    s === 'clientIp' || s === 'route' || /^claim:[^.]+(\.[^.]+)*$/.test(s) || /^header:[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(s)
      ? null
      : 'expected clientIp, route, claim:<name> or header:<name>',
  );

/** One key part, or a list of them for a composite key (`[clientIp, route]`). */
const rateLimitKey = () =>
  z.union([
    rateLimitKeyPart(),
    z
      .array(rateLimitKeyPart())
      .min(1)
      .superRefine((parts, ctx) => {
        if (new Set(parts).size !== parts.length) ctx.addIssue({ code: 'custom', message: 'a key part is listed twice' });
      }),
  ]);

export const rateLimitPolicySchema = z.strictObject({
  name: name(),
  key: rateLimitKey(),
  limit: posInt(),
  window: duration(),
  /** After the limit is hit, keep refusing for this long (0s: only until the window ends). */
  blockFor: durationDefault('0s', { allowZero: true }),
  /** Extra requests allowed per `window` of their own once `limit` is used up (BurstyRateLimiter). */
  burst: z.strictObject({ limit: posInt(), window: duration() }).optional(),
});

export const redisSchema = z.strictObject({
  url: checked((s) => (/^rediss?:\/\/./.test(s) ? null : 'expected a redis:// or rediss:// URL')),
  keyPrefix: z.string().default('gatehouse:'),
  /**
   * While Redis is unreachable each process limits from its own memory at ceil(limit / fallbackDivisor);
   * set it to the number of gateway processes (replicas × workers) to keep the combined limit.
   */
  fallbackDivisor: posInt().default(1),
});

/** rate-limiter-flexible keeps Redis TTLs in whole seconds: a finer window would never expire there. */
function wholeSecondsOnRedis(cfg: { store: string; policies: Array<{ window: number; blockFor: number; burst?: { window: number } | undefined }> }, ctx: z.core.$RefinementCtx) {
  if (cfg.store !== 'redis') return;
  cfg.policies.forEach((p, i) => {
    const check = (ms: number, path: PathKey[]) => {
      if (ms % 1000 !== 0) ctx.addIssue({ code: 'custom', path: ['policies', i, ...path], message: 'must be whole seconds with store: redis' });
    };
    check(p.window, ['window']);
    check(p.blockFor, ['blockFor']);
    if (p.burst) check(p.burst.window, ['burst', 'window']);
  });
}
type PathKey = string | number;

export const rateLimitSchema = z
  .strictObject({
    store: z.enum(['memory', 'redis']).default('memory'),
    redis: redisSchema.optional(),
    policies: z.array(rateLimitPolicySchema).default(() => []),
  })
  .superRefine(wholeSecondsOnRedis);

// ───────────────────────────── matching, authz ─────────────────────────────

const HEADER_MATCH_KINDS = ['exact', 'prefix', 'suffix', 'regex', 'present', 'absent'] as const;

export const headerMatcherSchema = z
  .strictObject({
    name: headerName(),
    exact: z.string().optional(),
    prefix: text().optional(),
    suffix: text().optional(),
    /** Must match the whole value. */
    regex: regex().optional(),
    present: z.literal(true).optional(),
    absent: z.literal(true).optional(),
    invert: z.boolean().default(false),
  })
  .check(exactlyOneOf(HEADER_MATCH_KINDS));

export const queryMatcherSchema = z
  .strictObject({
    name: text(),
    exact: z.string().optional(),
    regex: regex().optional(),
    present: z.literal(true).optional(),
  })
  .check(exactlyOneOf(['exact', 'regex', 'present']));

export const routeMatchSchema = z
  .strictObject({
    prefix: urlPath().optional(),
    /** Exact path. */
    path: urlPath().optional(),
    /** Whole path. */
    regex: regex().optional(),
    methods: z.array(method()).min(1).optional(),
    headers: z.array(headerMatcherSchema).optional(),
    query: z.array(queryMatcherSchema).optional(),
  })
  .check(exactlyOneOf(['prefix', 'path', 'regex']));

export const authzRuleSchema = z.strictObject({
  /** claim → value or list of values (any of them matches; array claims match on any element). */
  claims: z
    .record(text(), z.union([z.string(), z.array(z.string()).min(1)], { error: 'expected a string or a list of strings' }))
    .optional(),
  methods: z.array(method()).min(1).optional(),
  /** Path prefixes. */
  paths: z.array(urlPath()).min(1).optional(),
  sourceCidrs: z.array(cidr()).min(1).optional(),
  headers: z.array(headerMatcherSchema).min(1).optional(),
});

export const authzSchema = z.strictObject({
  allow: z.array(authzRuleSchema).optional(),
  deny: z.array(authzRuleSchema).optional(),
});

/** On a virtual host or a route: `{ providers: [...] }` and/or `{ allowAnonymous: true }`. */
export const authnRequirementSchema = z
  .strictObject({
    providers: z.array(name()).optional(),
    allowAnonymous: z.boolean().default(false),
  })
  .superRefine((v, ctx) => {
    if (!v.allowAnonymous && (v.providers === undefined || v.providers.length === 0)) {
      ctx.addIssue({ code: 'custom', path: ['providers'], message: 'required unless allowAnonymous is true' });
    }
  });

/** External authorization (Envoy ext_authz) on a virtual host or route; `null` on a route turns the host's off. */
export const extAuthzSchema = z
  .strictObject({
    grpc: z
      .strictObject({
        address: address(),
        tls: z
          .strictObject({
            caFile: filePath().optional(),
            certFile: filePath().optional(),
            keyFile: filePath().optional(),
            serverName: text().optional(),
          })
          .check(together('certFile', 'keyFile'))
          .optional(),
      })
      .optional(),
    http: z
      .strictObject({
        url: checked((s) => httpUrlError(s)),
        headersToServer: z.array(headerName()).default(() => []),
        headersFromServer: z.array(headerName()).default(() => []),
      })
      .optional(),
    /** Per Check call (gRPC deadline, HTTP request). */
    timeout: durationDefault('250ms'),
    failureModeAllow: z.boolean().default(false),
    /** Send up to maxBytes of the body (a larger one is sent truncated, flagged by x-envoy-auth-partial-body). */
    withRequestBody: z
      .strictObject({
        maxBytes: posInt(),
        /** gRPC: the body as bytes in `raw_body` instead of a UTF-8 string in `body` (Envoy's pack_as_bytes). */
        packAsBytes: z.boolean().default(false),
      })
      .optional(),
    /** gRPC: extra `context_extensions` for the service (Envoy's per-route check_settings). */
    contextExtensions: z.record(text(), z.string()).optional(),
  })
  .check(exactlyOneOf(['grpc', 'http']));

// ───────────────────────────── route actions ─────────────────────────────

export const weightedClusterSchema = z.strictObject({
  cluster: name(),
  /** 0 is allowed (no traffic) as long as the route's total is above 0 (validate.ts). */
  weight: z.int().min(0),
});

export const stickyOnSchema = z
  .strictObject({
    cookie: text().optional(),
    header: headerName().optional(),
    claim: text().optional(),
    clientIp: z.literal(true).optional(),
  })
  .check(exactlyOneOf(['cookie', 'header', 'claim', 'clientIp']));

/** connect-failure | refused-stream | reset | 5xx | gateway-error | retriable-4xx | a status code. */
export const RETRY_ON = ['connect-failure', 'refused-stream', 'reset', '5xx', 'gateway-error', 'retriable-4xx'] as const;

const retryOnItem = () =>
  z.union([z.string(), z.number()], { error: 'expected a retry condition like connect-failure or 503' }).transform((v, ctx) => {
    const s = String(v);
    if ((RETRY_ON as readonly string[]).includes(s) || /^[1-5]\d\d$/.test(s)) return s;
    ctx.addIssue({ code: 'custom', message: `expected one of ${RETRY_ON.join(', ')} or a status code like 503` });
    return z.NEVER;
  });

export const retryPolicySchema = z.strictObject({
  /** Retries after the first try (Istio's meaning): 3 → up to 4 tries. */
  attempts: z.int().min(0).default(2),
  perTryTimeout: duration().optional(),
  retryOn: z.array(retryOnItem()).min(1).default(() => ['connect-failure', 'refused-stream', '503']),
  /** Also retry methods that are not idempotent (POST, PATCH). Off: only GET/HEAD/OPTIONS/PUT/DELETE/TRACE. */
  retryNonIdempotent: z.boolean().default(false),
});

export const headerMutationSchema = z.strictObject({
  set: z.record(headerName(), z.string()).default(() => ({})),
  add: z.record(headerName(), z.string()).default(() => ({})),
  remove: z.array(headerName()).default(() => []),
});

export const mirrorSchema = z.strictObject({
  cluster: name(),
  percent: percent().default(100),
});

export const faultSchema = z
  .strictObject({
    delay: z.strictObject({ fixed: duration(), percent: percent().default(100) }).optional(),
    abort: z.strictObject({ status: z.int().min(200).max(599), percent: percent().default(100) }).optional(),
  })
  .superRefine((v, ctx) => {
    if (v.delay === undefined && v.abort === undefined) {
      ctx.addIssue({ code: 'custom', message: 'at least one of delay, abort is required' });
    }
  });

export const routeActionSchema = z
  .strictObject({
    cluster: name().optional(),
    weightedClusters: z.array(weightedClusterSchema).min(1).optional(),
    stickyOn: stickyOnSchema.optional(),
    /** Replaces the matched prefix (no double slash is produced). */
    prefixRewrite: urlPath().optional(),
    hostRewrite: checked((s) => (isHostname(s.replace(/:\d+$/, '')) ? null : 'expected a host name')).optional(),
    /** Whole request timeout; 0s turns it off. Default 15s as in Envoy. */
    timeout: durationDefault('15s', { allowZero: true }),
    retries: retryPolicySchema.optional(),
    requestHeaders: headerMutationSchema.optional(),
    responseHeaders: headerMutationSchema.optional(),
    websocket: z.boolean().default(false),
    mirror: mirrorSchema.optional(),
    fault: faultSchema.optional(),
  })
  .check(exactlyOneOf(['cluster', 'weightedClusters']))
  .superRefine((v, ctx) => {
    if (v.stickyOn !== undefined && v.weightedClusters === undefined) {
      ctx.addIssue({ code: 'custom', path: ['stickyOn'], message: 'only applies to weightedClusters' });
    }
  });

export const redirectSchema = z.strictObject({
  /** A path (keeps scheme, host and query) or an absolute http(s) URL (replaces everything). */
  to: checked(redirectTargetError),
  status: z.literal([301, 302, 303, 307, 308]).default(301),
});

export const directResponseSchema = z.strictObject({
  status: z.int().min(200).max(599),
  body: z.string().default(''),
});

export const routeSchema = z
  .strictObject({
    name: name(),
    match: routeMatchSchema,
    /** Same shapes as on the virtual host; a route's value replaces the host's (`rateLimits: []` = none). */
    authn: authnRequirementSchema.optional(),
    authz: authzSchema.optional(),
    rateLimits: z.array(name()).optional(),
    extAuthz: extAuthzSchema.nullable().optional(),
    route: routeActionSchema.optional(),
    redirect: redirectSchema.optional(),
    directResponse: directResponseSchema.optional(),
  })
  .check(exactlyOneOf(['route', 'redirect', 'directResponse']));

export const virtualHostSchema = z.strictObject({
  name: name(),
  /** Exact names, `*.suffix`, or `*`; matched on Host without port, case-insensitively. */
  domains: z.array(checked(domainError)).min(1),
  authn: authnRequirementSchema.optional(),
  authz: authzSchema.optional(),
  rateLimits: z.array(name()).optional(),
  extAuthz: extAuthzSchema.optional(),
  /** First match wins. */
  routes: z.array(routeSchema).min(1),
});

// ───────────────────────────── clusters ─────────────────────────────

export const discoverySchema = z.discriminatedUnion('type', [
  z.strictObject({
    type: z.literal('static'),
    endpoints: z.array(address()).min(1),
  }),
  z.strictObject({
    type: z.literal('dns'),
    host: checked((s) => (isHostname(s) ? null : 'expected a host name')),
    port: port(),
    /** Last good endpoints are kept while DNS fails. */
    refresh: durationDefault('30s'),
  }),
  z.strictObject({
    type: z.literal('srv'),
    /** e.g. `_https._tcp.checkout.mesh.local`; RFC 2782 priority and weight honoured. */
    name: text(),
    refresh: durationDefault('30s'),
  }),
  z.strictObject({
    type: z.literal('eds'),
    /** EDS resource name; defaults to the cluster name. */
    serviceName: text().optional(),
  }),
]);

export const LB_POLICIES = ['round_robin', 'least_request', 'random', 'ring_hash', 'maglev'] as const;

export const loadBalancerSchema = z.strictObject({
  policy: z.enum(LB_POLICIES).default('round_robin'),
  /** ring_hash / maglev key; without it the client address is used. */
  hashOn: z
    .strictObject({
      header: headerName().optional(),
      cookie: text().optional(),
      clientIp: z.literal(true).optional(),
    })
    .check(exactlyOneOf(['header', 'cookie', 'clientIp']))
    .optional(),
});

export const clusterTlsSchema = z
  .strictObject({
    /** Client certificate and key (mutual TLS); both or neither. */
    certFile: filePath().optional(),
    keyFile: filePath().optional(),
    /** Trust anchors for the server certificate; the system CAs when absent. Verification is always on. */
    caFile: filePath().optional(),
    /** SNI and the name verified in the server certificate. */
    serverName: text().optional(),
    /**
     * Accept only server certificates carrying one of these SANs, types kept apart: `uri:` / `dns:`
     * exact, `uri-prefix:` / `dns-prefix:`, untyped exact (URI when it contains "://", else DNS),
     * legacy `prefix:` (same rule). See upstream/san-match.ts.
     */
    matchSubjectAltNames: z.array(checked((s) => { const e = parseSanEntry(s); return typeof e === 'string' ? e : null; })).min(1).optional(),
    minVersion: tlsVersion().default('TLSv1.3'),
  })
  .check(together('certFile', 'keyFile'));

export const circuitBreakersSchema = z.strictObject({
  maxConnections: posInt().default(1024),
  maxPendingRequests: posInt().default(1024),
  maxRequests: posInt().default(1024),
  maxRetries: z.int().min(0).default(3),
});

export const outlierDetectionSchema = z.strictObject({
  consecutive5xx: posInt().default(5),
  consecutiveGatewayErrors: posInt().default(5),
  interval: durationDefault('10s'),
  baseEjectionTime: durationDefault('30s'),
  maxEjectionPercent: percent().default(10),
});

export const healthCheckSchema = z
  .strictObject({
    path: urlPath().optional(),
    grpc: z.strictObject({ service: z.string().default('') }).optional(),
    interval: durationDefault('5s'),
    timeout: durationDefault('1s'),
    unhealthyThreshold: posInt().default(3),
    healthyThreshold: posInt().default(2),
  })
  .check(exactlyOneOf(['path', 'grpc']));

export const clusterSchema = z.strictObject({
  name: name(),
  discovery: discoverySchema,
  loadBalancer: loadBalancerSchema.prefault({}),
  /** Absent: plain HTTP (e.g. a sidecar on loopback). */
  tls: clusterTlsSchema.optional(),
  http2: z.boolean().default(false),
  connectTimeout: durationDefault('2s'),
  /** Envoy's default thresholds apply even when the key is absent. */
  circuitBreakers: circuitBreakersSchema.prefault({}),
  outlierDetection: outlierDetectionSchema.optional(),
  healthCheck: healthCheckSchema.optional(),
});

// ───────────────────────────── xDS ─────────────────────────────

export const xdsSchema = z.strictObject({
  /** ADS server, state of the world. */
  server: address(),
  tls: z
    .strictObject({
      caFile: filePath().optional(),
      certFile: filePath().optional(),
      keyFile: filePath().optional(),
      /** The name the server certificate must carry, when it is not the host of `server` (e.g. an IP). */
      serverName: text().optional(),
    })
    .check(together('certFile', 'keyFile'))
    .optional(),
  node: z.strictObject({ id: text(), cluster: text() }),
  /** RDS names; CDS and EDS follow from the routes. */
  routeConfigs: z.array(text()).min(1),
  initialFetchTimeout: durationDefault('15s'),
});

// ───────────────────────────── the document ─────────────────────────────

export const gatewayConfigSchema = z.strictObject({
  admin: adminSchema.prefault({}),
  accessLog: accessLogSchema.prefault({}),
  tracing: tracingSchema.optional(),
  overload: overloadSchema.optional(),
  grpcHealth: grpcHealthSchema.optional(),
  drain: drainSchema.prefault({}),
  listeners: z.array(listenerSchema).min(1),
  authn: authnSchema.optional(),
  rateLimit: rateLimitSchema.optional(),
  virtualHosts: z.array(virtualHostSchema).default(() => []),
  clusters: z.array(clusterSchema).default(() => []),
  dns: dnsSchema.optional(),
  xds: xdsSchema.optional(),
});

// ───────────────────────────── types (the output: defaults filled, durations in ms) ─────────────────────────────

export type GatewayConfig = z.output<typeof gatewayConfigSchema>;
/** What the YAML may contain (before defaults and transforms). */
export type GatewayConfigInput = z.input<typeof gatewayConfigSchema>;

export type AdminConfig = z.output<typeof adminSchema>;
export type AccessLogConfig = z.output<typeof accessLogSchema>;
export type TracingConfig = z.output<typeof tracingSchema>;
export type OverloadConfig = z.output<typeof overloadSchema>;
export type ExtAuthzConfig = z.output<typeof extAuthzSchema>;
export type GrpcHealthConfig = z.output<typeof grpcHealthSchema>;
export type DrainConfig = z.output<typeof drainSchema>;
export type DnsConfig = z.output<typeof dnsSchema>;

export type ListenerConfig = z.output<typeof listenerSchema>;
export type ListenerTlsConfig = z.output<typeof listenerTlsSchema>;
export type ListenerCertificateConfig = z.output<typeof listenerCertificateSchema>;
export type ListenerLimits = z.output<typeof listenerLimitsSchema>;
export type TrustedProxiesConfig = z.output<typeof trustedProxiesSchema>;

export type AuthnConfig = z.output<typeof authnSchema>;
export type AuthnProviderConfig = z.output<typeof authnProviderSchema>;
export type TokenSourceConfig = z.output<typeof tokenSourceSchema>;
export type InlineJwksConfig = z.output<typeof inlineJwksSchema>;
export type InternalTokenConfig = z.output<typeof internalTokenSchema>;
/** `authn` on a virtual host or route. */
export type AuthnRequirementConfig = z.output<typeof authnRequirementSchema>;
export type AuthzConfig = z.output<typeof authzSchema>;
export type AuthzRuleConfig = z.output<typeof authzRuleSchema>;

export type RateLimitConfig = z.output<typeof rateLimitSchema>;
export type RateLimitPolicyConfig = z.output<typeof rateLimitPolicySchema>;
export type RedisConfig = z.output<typeof redisSchema>;

export type VirtualHostConfig = z.output<typeof virtualHostSchema>;
export type RouteConfig = z.output<typeof routeSchema>;
export type RouteMatchConfig = z.output<typeof routeMatchSchema>;
export type HeaderMatcherConfig = z.output<typeof headerMatcherSchema>;
export type QueryMatcherConfig = z.output<typeof queryMatcherSchema>;
/** The `route:` action (forward to a cluster or a weighted split). */
export type RouteActionConfig = z.output<typeof routeActionSchema>;
export type WeightedClusterConfig = z.output<typeof weightedClusterSchema>;
export type StickyOnConfig = z.output<typeof stickyOnSchema>;
export type RetryPolicyConfig = z.output<typeof retryPolicySchema>;
export type HeaderMutationConfig = z.output<typeof headerMutationSchema>;
export type MirrorConfig = z.output<typeof mirrorSchema>;
export type FaultConfig = z.output<typeof faultSchema>;
export type RedirectConfig = z.output<typeof redirectSchema>;
export type DirectResponseConfig = z.output<typeof directResponseSchema>;

export type ClusterConfig = z.output<typeof clusterSchema>;
export type DiscoveryConfig = z.output<typeof discoverySchema>;
export type StaticDiscoveryConfig = Extract<DiscoveryConfig, { type: 'static' }>;
export type DnsDiscoveryConfig = Extract<DiscoveryConfig, { type: 'dns' }>;
export type SrvDiscoveryConfig = Extract<DiscoveryConfig, { type: 'srv' }>;
export type EdsDiscoveryConfig = Extract<DiscoveryConfig, { type: 'eds' }>;
export type LoadBalancerConfig = z.output<typeof loadBalancerSchema>;
export type LoadBalancerPolicy = LoadBalancerConfig['policy'];
export type ClusterTlsConfig = z.output<typeof clusterTlsSchema>;
export type CircuitBreakersConfig = z.output<typeof circuitBreakersSchema>;
export type OutlierDetectionConfig = z.output<typeof outlierDetectionSchema>;
export type HealthCheckConfig = z.output<typeof healthCheckSchema>;

export type XdsConfig = z.output<typeof xdsSchema>;
