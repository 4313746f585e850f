/**
 * The registry's service document (SPEC "Control plane and service registry"): its schema, and
 * `validateServiceDocument`, the one gate every write passes (REST, web form, file source). Errors are
 * `path: message` like the gateway's config. Only what one document can say about itself is checked
 * here; what depends on other services (a `dependsOn` naming no service, an `expose` clash) is the
 * compiler's business: such a document is stored and reported, not refused.
 *
 * Durations stay strings in the stored document (what the engineer wrote); the compiler parses them.
 */
import { isIP } from 'node:net';
import { z } from 'zod';
import { humanErrorMap, issuesToErrors } from '../../config/zod-errors.ts';
import { parseDuration } from '../../config/duration.ts';
import { parseHostPort } from '../../config/checks.ts';

/** A DNS label: service, version and namespace names (they become cluster names and URL segments). */
export const LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;
const LABEL_HINT = 'lower-case letters, digits and -, starting and ending with a letter or digit (max 63)';

const HOST_LABEL = '[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?';
const DOMAIN = new RegExp(`^(?:\\*|(?:\\*\\.)?${HOST_LABEL}(?:\\.${HOST_LABEL})*)$`);
const SRV_NAME = new RegExp(`^${HOST_LABEL}(?:\\.${HOST_LABEL})+\\.?$`);

/** Read-only keys a GET adds; a PUT of what a GET returned drops them instead of refusing them. */
export const READ_ONLY_KEYS = ['problems', 'instances', 'revision'] as const;

export const RETRY_ON = ['connect-failure', 'refused-stream', 'reset', '5xx', 'gateway-error', 'retriable-4xx'] as const;

const label = () => z.string().regex(LABEL, `expected ${LABEL_HINT}`);

const duration = () =>
  z.string().superRefine((s, ctx) => {
    const ms = parseDuration(s);
    if (ms === null || ms === 0) ctx.addIssue({ code: 'custom', message: `invalid duration ${JSON.stringify(s)} (use e.g. 500ms, 10s, 1m)` });
  });

/** `ip:port` — what EDS carries. A DNS name belongs in `srv:`. */
export function endpointError(s: string): string | null {
  const hp = parseHostPort(s);
  if (typeof hp === 'string') return 'expected an IP address and port, e.g. 10.0.0.1:9443';
  if (isIP(hp.host) === 0) return 'expected an IP address, not a host name (use srv: for DNS names)';
  return null;
}
const endpoint = () =>
  z.string().superRefine((s, ctx) => {
    const e = endpointError(s);
    if (e) ctx.addIssue({ code: 'custom', message: e });
  });

const weight = () =>
  z.number({ error: 'must be a number ≥ 0' }).min(0, 'must be a number ≥ 0').max(1_000_000, 'must be at most 1000000').default(0);

const versionSchema = z
  .strictObject({
    name: label(),
    /** Share of the service's exposed traffic; 0 (the default) sends it none. */
    weight: weight(),
    endpoints: z.array(endpoint()).min(1).max(1000).optional(),
    srv: z.string().regex(SRV_NAME, 'expected an SRV name like _https._tcp.checkout-v1.mesh.local').optional(),
    srvRefresh: duration().optional(),
  })
  .superRefine((v, ctx) => {
    if (v.endpoints !== undefined && v.srv !== undefined) {
      ctx.addIssue({ code: 'custom', message: 'only one of endpoints, srv may be set (registered instances need neither)' });
    }
    if (v.srvRefresh !== undefined && v.srv === undefined) ctx.addIssue({ code: 'custom', path: ['srvRefresh'], message: 'only applies with srv' });
  });

const retryOn = () =>
  z.union([z.string(), z.number()]).superRefine((v, ctx) => {
    const s = String(v);
    if (!(RETRY_ON as readonly string[]).includes(s) && !/^[1-5]\d\d$/.test(s)) {
      ctx.addIssue({ code: 'custom', message: `expected one of ${RETRY_ON.join(', ')} or a status code like 503` });
    }
  });

const exposeSchema = z.strictObject({
  domains: z
    .array(z.string().regex(DOMAIN, 'expected a domain: exact, *.suffix or *'))
    .min(1)
    .max(100),
  prefix: z.string().startsWith('/', 'must start with /').max(1024).default('/'),
  timeout: duration().optional(),
  retries: z
    .strictObject({
      attempts: z.int().min(0).max(10).default(2),
      perTryTimeout: duration().optional(),
      retryOn: z.array(retryOn()).min(1).max(16).optional(),
    })
    .optional(),
  prefixRewrite: z.string().startsWith('/', 'must start with /').max(1024).optional(),
  /** The RouteConfiguration this entry belongs to (edge fleets can follow different sets). */
  routeConfig: z.string().regex(/^[A-Za-z0-9_.:-]{1,128}$/, 'expected a name of letters, digits, _ . : -').default('gatehouse'),
});

export const serviceDocumentSchema = z
  .strictObject({
    name: label(),
    namespace: label().default('default'),
    owners: z.array(z.string().min(1).max(128)).max(50).default(() => []),
    description: z.string().max(2000).optional(),
    /** The SAN gatehouse checks on the way in; default spiffe://<trustDomain>/ns/<namespace>/sa/<name>. */
    identity: z
      .string()
      .regex(/^spiffe:\/\/[a-z0-9.-]+(?:\/[A-Za-z0-9._~%!$&'()*+,;=:@-]+)+$/, 'expected a SPIFFE ID like spiffe://mesh.local/ns/shop/sa/checkout')
      .optional(),
    dependsOn: z.array(label()).max(200).default(() => []),
    versions: z.array(versionSchema).min(1).max(64),
    expose: z.array(exposeSchema).max(100).default(() => []),
  })
  .superRefine((d, ctx) => {
    const seen = new Set<string>();
    d.versions.forEach((v, i) => {
      if (seen.has(v.name)) ctx.addIssue({ code: 'custom', path: ['versions', i, 'name'], message: `duplicate version ${v.name}` });
      seen.add(v.name);
    });
    d.dependsOn.forEach((dep, i) => {
      if (dep === d.name) ctx.addIssue({ code: 'custom', path: ['dependsOn', i], message: 'a service cannot depend on itself' });
      if (d.dependsOn.indexOf(dep) !== i) ctx.addIssue({ code: 'custom', path: ['dependsOn', i], message: `${dep} is listed twice` });
    });
    const weightsValid = d.versions.every((v) => typeof v.weight === 'number' && v.weight >= 0);
    if (weightsValid && d.expose.length > 0 && d.versions.length > 1 && d.versions.reduce((s, v) => s + v.weight, 0) <= 0) {
      ctx.addIssue({ code: 'custom', path: ['versions'], message: 'the weights must add up to more than 0 when the service is exposed' });
    }
    const routes = new Map<string, number>();
    d.expose.forEach((e, i) => {
      for (const domain of e.domains) {
        const key = `${e.routeConfig} ${domain.toLowerCase()} ${e.prefix}`;
        const earlier = routes.get(key);
        if (earlier !== undefined && earlier !== i) {
          ctx.addIssue({ code: 'custom', path: ['expose', i], message: `${domain}${e.prefix} is already exposed by expose[${earlier}]` });
        }
        routes.set(key, i);
      }
    });
  });

export type ServiceDocument = z.output<typeof serviceDocumentSchema>;
export type ServiceVersion = ServiceDocument['versions'][number];
export type ExposeEntry = ServiceDocument['expose'][number];

export type DocumentResult = { ok: true; document: ServiceDocument } | { ok: false; errors: string[] };

/**
 * Validates one document (parsed JSON). `nameFromUrl`, when given, fills a missing `name` and must
 * match a given one. Read-only keys (what GET adds) are dropped first.
 */
export function validateServiceDocument(input: unknown, nameFromUrl?: string): DocumentResult {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    return { ok: false, errors: ['(root): expected a JSON object'] };
  }
  const raw: Record<string, unknown> = { ...(input as Record<string, unknown>) };
  for (const k of READ_ONLY_KEYS) delete raw[k];
  if (nameFromUrl !== undefined) {
    if (raw.name === undefined) raw.name = nameFromUrl;
    else if (raw.name !== nameFromUrl) return { ok: false, errors: [`name: must match the URL (${nameFromUrl})`] };
  }
  const parsed = serviceDocumentSchema.safeParse(raw, { error: humanErrorMap });
  if (!parsed.success) return { ok: false, errors: issuesToErrors(parsed.error.issues).map((e) => `${e.path}: ${e.message}`) };
  return { ok: true, document: parsed.data };
}

/** The identity a service's clusters check: its own, or the trust domain's default for it. */
export function serviceIdentity(doc: ServiceDocument, trustDomain: string): string {
  return doc.identity ?? `spiffe://${trustDomain}/ns/${doc.namespace}/sa/${doc.name}`;
}

