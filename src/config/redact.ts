/**
 * A JSON-safe copy of the config with secrets taken out, for the admin `/config` endpoint.
 *
 * Redacted: any string under a key that names a secret (token, password, secret, authorization,
 * api key, private key, credential — `admin.token`, a `requestHeaders.set.authorization`, …), the
 * password in URLs (`redis://user:pw@host` → `redis://user:REDACTED@host`), and the private members
 * of inline JWKs. Booleans such as `forwardToken` are kept: only values can leak.
 */
export const REDACTED = 'REDACTED';

const SECRET_KEY = /(token|password|passwd|secret|authorization|api[-_]?key|private[-_]?key|credentials?)$/i;

/** JWK members that are private key material (RFC 7518 §6): RSA, EC/OKP and symmetric keys. */
const JWK_PRIVATE = new Set(['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k']);

export function redactConfig(cfg: unknown): unknown {
  return redact(cfg, undefined, false);
}

function redact(value: unknown, key: string | undefined, inJwk: boolean): unknown {
  if (value === null || value === undefined) return value ?? null;
  if (typeof value === 'string') {
    if (key !== undefined && SECRET_KEY.test(key)) return REDACTED;
    return redactUrlPassword(value);
  }
  if (typeof value === 'number') return Number.isFinite(value) ? value : String(value);
  if (typeof value === 'boolean') return value;
  if (typeof value === 'bigint') return value.toString();
  // The members of a `keys` list (an inline JWKS) are JWKs.
  if (Array.isArray(value)) return value.map((v) => redact(v, undefined, key === 'keys'));
  if (value instanceof RegExp) return value.source;
  if (typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      if (inJwk && JWK_PRIVATE.has(k)) {
        out[k] = REDACTED;
        continue;
      }
      out[k] = redact(v, k, false);
    }
    return out;
  }
  return undefined; // functions, symbols: not JSON
}

/** Hide the password part of a URL-looking string; other strings pass unchanged. */
function redactUrlPassword(s: string): string {
  if (!/^[a-z][a-z0-9+.-]*:\/\/[^/@\s]*:[^/@\s]*@/i.test(s)) return s;
  try {
    const u = new URL(s);
    if (u.password === '') return s;
    u.password = REDACTED;
    return u.toString();
  } catch {
    return s.replace(/(:\/\/[^/:@\s]*:)[^/@\s]*@/, `$1${REDACTED}@`);
  }
}
