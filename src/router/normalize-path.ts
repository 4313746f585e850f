// Path normalisation, done once per request before routing and authorization, so that
// `/public/../admin`, `/public/%2e%2e/admin` or `//admin` can never match as something else.
//
//  - a raw backslash is a slash (as Istio's default normalisation and WHATWG URL parsers, IIS and
//    many frameworks read it): `/public\..\admin` is `/admin`, and `/admin` is what is forwarded;
//  - percent-encoded unreserved characters (A-Z a-z 0-9 - . _ ~) are decoded; other escapes are kept,
//    with upper-case hex. An encoded slash (%2F) or backslash (%5C) stays encoded and opaque: it is
//    part of a segment, never a separator (what the upstream sees is what we matched).
//  - the characters a URI may not carry raw and that browsers and Envoy's normalisation
//    (chromium's URL canonicaliser) percent-encode — `"`, `#`, `<`, `>`, `` ` ``, `{`, `}` — are
//    encoded, so `/a{b}` and `/a%7Bb%7D` are one path and the upstream gets a valid request-target
//    (a `#` reaches here only if the caller did not cut the fragment: see withoutFragment);
//  - duplicate slashes are merged;
//  - `.` and `..` segments are resolved (RFC 3986 §5.2.4); `..` never climbs above the root;
//  - a malformed escape, a control character or a path not starting with `/` is refused (null → 400);
//  - so are escapes that do not decode to valid UTF-8 (overlong forms such as `%C0%AE` for `.`,
//    surrogates: an upstream with a lenient decoder must not read a dot or a slash we did not see),
//    raw bytes above 0x7E (not allowed in a URI), and dot segments carrying `;` parameters (`..;`,
//    `.;x`), which Tomcat-style upstreams resolve as `..` after stripping the parameter.
//
// The common case (no `%`, no `//`, no dot segment) returns the input string without allocating.

const SLASH = 0x2f;
const DOT = 0x2e;
const PERCENT = 0x25;
const SEMICOLON = 0x3b;
const BACKSLASH = 0x5c;

/** Strict UTF-8 (WHATWG): rejects overlong forms, surrogates and truncated sequences. */
const utf8 = new TextDecoder('utf-8', { fatal: true });

function validUtf8(bytes: number[]): boolean {
  try {
    utf8.decode(Uint8Array.from(bytes));
    return true;
  } catch {
    return false;
  }
}

function hexValue(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x41 && c <= 0x46) return c - 0x41 + 10;
  if (c >= 0x61 && c <= 0x66) return c - 0x61 + 10;
  return -1;
}

/** Printable characters encoded rather than forwarded raw (WHATWG's path percent-encode set, less space and `?`). */
function mustEncode(c: number): boolean {
  return c === 0x22 || c === 0x23 || c === 0x3c || c === 0x3e || c === 0x60 || c === 0x7b || c === 0x7d;
}

const HEX = '0123456789ABCDEF';

function isUnreserved(c: number): boolean {
  return (
    (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || (c >= 0x30 && c <= 0x39) ||
    c === 0x2d || c === DOT || c === 0x5f || c === 0x7e
  );
}

/**
 * 1 for the characters only the slow path handles: `%`, `\`, those it encodes, and the controls and
 * space it refuses (as it refuses non-ASCII).
 */
const SLOW_CHAR = new Uint8Array(128);
for (let c = 0; c < 0x21; c++) SLOW_CHAR[c] = 1;
SLOW_CHAR[0x7f] = 1;
SLOW_CHAR[PERCENT] = 1;
SLOW_CHAR[BACKSLASH] = 1;
for (let c = 0x21; c < 0x7f; c++) if (mustEncode(c)) SLOW_CHAR[c] = 1;

/** True when the path needs the slow path: escapes, `//`, or a `.`/`..` segment. */
function needsWork(p: string): boolean {
  const n = p.length;
  for (let i = 0; i < n; i++) {
    const c = p.charCodeAt(i);
    if (c > 0x7e || SLOW_CHAR[c] === 1) return true;
    if (c === SLASH && i + 1 < n) {
      const d = p.charCodeAt(i + 1);
      if (d === SLASH) return true;
      if (d === DOT) {
        // "/." followed by end, "/", ";" or "./", ".;" or ".<end>" is a dot segment (perhaps with parameters)
        const e = i + 2 < n ? p.charCodeAt(i + 2) : SLASH;
        if (e === SLASH || e === SEMICOLON) return true;
        if (e === DOT && (i + 3 >= n || p.charCodeAt(i + 3) === SLASH || p.charCodeAt(i + 3) === SEMICOLON)) return true;
      }
    }
  }
  return false;
}

/** Normalises an origin-form path (no query). Returns null when it is malformed. */
export function normalizePath(p: string): string | null {
  if (p.length === 0 || p.charCodeAt(0) !== SLASH) return null;
  if (!needsWork(p)) return p;

  // 1. decode unreserved escapes, canonicalise the others, refuse bad ones and control characters
  let decoded = '';
  let high: number[] | null = null; // a run of escaped bytes ≥ 0x80: must be valid UTF-8
  for (let i = 0; i < p.length; i++) {
    const c = p.charCodeAt(i);
    if (c < 0x21 || c > 0x7e) return null;
    if (c === BACKSLASH) {
      if (high !== null) {
        if (!validUtf8(high)) return null;
        high = null;
      }
      decoded += '/';
      continue;
    }
    if (c !== PERCENT) {
      if (high !== null) {
        if (!validUtf8(high)) return null;
        high = null;
      }
      decoded += mustEncode(c) ? `%${HEX[c >> 4]}${HEX[c & 15]}` : p[i];
      continue;
    }
    if (i + 2 >= p.length) return null;
    const hi = hexValue(p.charCodeAt(i + 1));
    const lo = hexValue(p.charCodeAt(i + 2));
    if (hi < 0 || lo < 0) return null;
    const byte = hi * 16 + lo;
    if (byte < 0x20 || byte === 0x7f) return null; // an encoded NUL or control character
    if (byte >= 0x80) (high ??= []).push(byte);
    else if (high !== null) {
      if (!validUtf8(high)) return null;
      high = null;
    }
    decoded += isUnreserved(byte) ? String.fromCharCode(byte) : '%' + p[i + 1].toUpperCase() + p[i + 2].toUpperCase();
    i += 2;
  }
  if (high !== null && !validUtf8(high)) return null;

  // 2. merge slashes and resolve dot segments
  const trailingSlash = decoded.length > 1 && decoded.charCodeAt(decoded.length - 1) === SLASH;
  const out: string[] = [];
  for (const seg of decoded.split('/')) {
    if (seg === '' || seg === '.') continue;
    if (seg.charCodeAt(0) === DOT) {
      const semi = seg.indexOf(';');
      if (semi === 1 || (semi === 2 && seg.charCodeAt(1) === DOT)) return null; // `.;x` or `..;x`
    }
    if (seg === '..') {
      out.pop();
      continue;
    }
    out.push(seg);
  }
  const last = decoded.slice(decoded.lastIndexOf('/') + 1);
  const endsInDir = trailingSlash || last === '.' || last === '..';
  const joined = '/' + out.join('/');
  return endsInDir && out.length > 0 ? joined + '/' : joined;
}

/**
 * The request target without its `#fragment`. A fragment is never part of a request-target (RFC 9112
 * §3.2) and upstreams disagree on it — nginx cuts the path at `#`, node and Go keep it — so a rule on
 * `/admin` must not be passed by `/admin#x`. Cut, as Envoy does, before the path and query are split.
 */
export function withoutFragment(target: string): string {
  const hash = target.indexOf('#');
  return hash === -1 ? target : target.slice(0, hash);
}

/** Splits a request target into path and query (`?` and after, or ''). */
export function splitTarget(target: string): { path: string; query: string } {
  const q = target.indexOf('?');
  return q === -1 ? { path: target, query: '' } : { path: target.slice(0, q), query: target.slice(q) };
}
