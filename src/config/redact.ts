/**
 * A JSON-safe copy of the config with secrets taken out, for the admin `/config` endpoint.
 *
 * Redacted:
 *  - any string under a key that names a secret (token, password, secret, authorization, api key,
 *    private key, credential — `admin.token`, …);
 *  - in every URL-looking string (`scheme://…`, wherever it is: jwksUri, redis.url, an ext_authz or
 *    OTLP endpoint), the userinfo (`user:pw@` → `REDACTED:REDACTED@`) and every query value
 *    (`?client_secret=x&a=1` → `?client_secret=REDACTED&a=REDACTED`; names are kept);
 *  - every value of a header mutation (`requestHeaders` / `responseHeaders` `set` and `add`): they
 *    carry cookies, API keys and bearer tokens under names no rule can foresee;
 *  - the values of header matchers (routes, authz) on a secret-looking header name (`x-api-key`,
 *    `authorization`, `cookie`);
 *  - the private members of inline JWKs.
 * Booleans such as `forwardToken` are kept: only values can leak.
 */
export const REDACTED = 'REDACTED';

const SECRET_KEY = /(token|password|passwd|secret|authorization|api[-_]?key|private[-_]?key|credentials?)$/i;
/** Header names whose values are credentials (a `cookie` key elsewhere names a cookie, which is no secret). */
const SECRET_HEADER = /(token|password|passwd|secret|authorization|api[-_]?key|private[-_]?key|credentials?|cookie)$/i;

/** JWK members that are private key material (RFC 7518 §6): RSA, EC/OKP and symmetric keys. */
const JWK_PRIVATE = new Set(['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k']);

/** The header-mutation blocks and their value-carrying members. */
const HEADER_MUTATIONS = new Set(['requestHeaders', 'responseHeaders']);
const MUTATION_VALUES = new Set(['set', 'add']);
/** Value members of a header matcher (`{ name, exact | prefix | suffix | regex, … }`). */
const MATCHER_VALUES = ['exact', 'prefix', 'suffix', 'regex'];

export function redactConfig(cfg: unknown): unknown {
  return redact(cfg, undefined, false);
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function redact(value: unknown, key: string | undefined, inJwk: boolean): unknown {
  if (value === null || value === undefined) return value ?? null;
  if (typeof value === 'string') {
    if (key !== undefined && SECRET_KEY.test(key)) return REDACTED;
    return redactUrl(value);
  }
  if (typeof value === 'number') return Number.isFinite(value) ? value : String(value);
  if (typeof value === 'boolean') return value;
  if (typeof value === 'bigint') return value.toString();
  // The members of a `keys` list (an inline JWKS) are JWKs.
  if (Array.isArray(value)) return value.map((v) => redact(v, undefined, key === 'keys'));
  if (value instanceof RegExp) return value.source;
  if (typeof value === 'object') {
    const out: Record<string, unknown> = {};
    const secretMatcher = typeof (value as { name?: unknown }).name === 'string' && SECRET_HEADER.test((value as { name: string }).name);
    for (const [k, v] of Object.entries(value)) {
      if (inJwk && JWK_PRIVATE.has(k)) out[k] = REDACTED;
      else if (secretMatcher && MATCHER_VALUES.includes(k) && typeof v === 'string') out[k] = REDACTED;
      else if (key !== undefined && HEADER_MUTATIONS.has(key) && MUTATION_VALUES.has(k) && isRecord(v)) out[k] = allRedacted(v);
      else out[k] = redact(v, k, false);
    }
    return out;
  }
  return undefined; // functions, symbols: not JSON
}

function allRedacted(values: Record<string, unknown>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of Object.keys(values)) out[name] = REDACTED;
  return out;
}

const URL_LIKE = /^[a-z][a-z0-9+.-]*:\/\//i;

/** Hides the userinfo and the query values of a URL-looking string; other strings pass unchanged. */
function redactUrl(s: string): string {
  if (!URL_LIKE.test(s) || (!s.includes('@') && !s.includes('?'))) return s;
  let u: URL;
  try {
    u = new URL(s);
  } catch {
    // Not parseable but URL-shaped: cut what could be credentials or a query, crudely.
    return s.replace(/(:\/\/)[^/?#]*@/, `$1${REDACTED}@`).replace(/\?.*$/, `?${REDACTED}`);
  }
  if (u.username !== '') u.username = REDACTED;
  if (u.password !== '') u.password = REDACTED;
  if (u.search !== '') {
    const names = [...new Set(u.searchParams.keys())];
    u.search = names.map((n) => `${encodeURIComponent(n)}=${REDACTED}`).join('&');
  }
  return u.toString();
}
