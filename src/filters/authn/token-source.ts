import type { IncomingHttpHeaders } from 'node:http';
import type { TokenSourceConfig } from '../../config/schema.ts';

// Where a provider looks for its token (`tokenFrom`, tried in order): a header, optionally after a
// prefix such as "Bearer " (compared case-insensitively, as auth schemes are), or one named cookie.
// A source is also a *token place*: what the authn filter strips before the mesh (`occupied`).

/** What a token place reads of a request: node's parsed headers and the raw name/value list. */
export interface TokenCarrier {
  readonly headers: IncomingHttpHeaders;
  readonly rawHeaders: readonly string[];
}

export interface TokenSource {
  /** Lower-case header name (`cookie` for a cookie source). */
  readonly header: string;
  /** The cookie name, or null for a header source. */
  readonly cookie: string | null;
  /** The token, or null when this source is absent or empty. */
  read(headers: IncomingHttpHeaders): string | null;
  /**
   * Whether the request carries something in this place, valid, empty or garbage: the header (for a
   * prefixed source: any copy of it starting with the prefix), or the named cookie.
   */
  occupied(req: TokenCarrier): boolean;
}

export interface FoundToken {
  readonly token: string;
  readonly source: TokenSource;
}

function headerValue(headers: IncomingHttpHeaders, name: string): string | undefined {
  const v = headers[name];
  return Array.isArray(v) ? v[0] : v;
}

function compileHeader(name: string, prefix: string | undefined): TokenSource {
  const header = name.toLowerCase();
  if (!prefix) {
    return {
      header,
      cookie: null,
      read(h) {
        const v = headerValue(h, header);
        return v ? v.trim() || null : null;
      },
      occupied: (req) => req.headers[header] !== undefined,
    };
  }
  const lowerPrefix = prefix.toLowerCase();
  const n = prefix.length;
  const hasPrefix = (v: string) => v.length >= n && v.slice(0, n).toLowerCase() === lowerPrefix;
  return {
    header,
    cookie: null,
    read(h) {
      const v = headerValue(h, header);
      if (v === undefined || v.length <= n || !hasPrefix(v)) return null;
      return v.slice(n).trim() || null;
    },
    // Every raw copy counts: node's parsed headers keep only the first Authorization of HTTP/1.1.
    occupied(req) {
      const raw = req.rawHeaders;
      for (let i = 0; i < raw.length; i += 2) {
        const name = raw[i];
        if (name.length === header.length && name.toLowerCase() === header && hasPrefix(raw[i + 1])) return true;
      }
      return false;
    },
  };
}

/** The value of cookie `name` in a Cookie header ("a=1; b=2"), without parsing the others. */
export function findCookie(cookieHeader: string, name: string): string | null {
  let from = 0;
  while (from < cookieHeader.length) {
    const semi = cookieHeader.indexOf(';', from);
    const end = semi === -1 ? cookieHeader.length : semi;
    const eq = cookieHeader.indexOf('=', from);
    if (eq !== -1 && eq < end && cookieHeader.slice(from, eq).trim() === name) {
      let v = cookieHeader.slice(eq + 1, end).trim();
      if (v.length >= 2 && v.charCodeAt(0) === 0x22 && v.charCodeAt(v.length - 1) === 0x22) v = v.slice(1, -1);
      return v || null;
    }
    from = end + 1;
  }
  return null;
}

/** The Cookie header without cookie `name` (other cookies stay, in order); '' when none is left. */
export function withoutCookie(cookieHeader: string, name: string): string {
  const kept: string[] = [];
  for (const part of cookieHeader.split(';')) {
    const p = part.trim();
    if (p === '') continue;
    const eq = p.indexOf('=');
    if ((eq === -1 ? p : p.slice(0, eq).trim()) === name) continue;
    kept.push(p);
  }
  return kept.join('; ');
}

/** Whether a Cookie header ("a=1; b=2") holds a cookie called `name`, with or without a value. */
export function hasCookie(cookieHeader: string, name: string): boolean {
  let from = 0;
  while (from < cookieHeader.length) {
    const semi = cookieHeader.indexOf(';', from);
    const end = semi === -1 ? cookieHeader.length : semi;
    const eq = cookieHeader.indexOf('=', from);
    if (cookieHeader.slice(from, eq !== -1 && eq < end ? eq : end).trim() === name) return true;
    from = end + 1;
  }
  return false;
}

function compileCookie(name: string): TokenSource {
  return {
    header: 'cookie',
    cookie: name,
    read(h) {
      const v = h.cookie;
      return v ? findCookie(v, name) : null;
    },
    occupied(req) {
      const v = req.headers.cookie;
      return v !== undefined && hasCookie(v, name);
    },
  };
}

/** Same place: the same header, and for cookies the same cookie. */
export function samePlace(a: TokenSource, b: TokenSource): boolean {
  return a.header === b.header && a.cookie === b.cookie;
}

export function compileTokenSources(cfg: readonly TokenSourceConfig[]): TokenSource[] {
  return cfg.map((s) => (s.cookie !== undefined ? compileCookie(s.cookie) : compileHeader(s.header!, s.prefix)));
}

/** The first source present, in order. */
export function findToken(sources: readonly TokenSource[], headers: IncomingHttpHeaders): FoundToken | null {
  for (let i = 0; i < sources.length; i++) {
    const token = sources[i].read(headers);
    if (token !== null) return { token, source: sources[i] };
  }
  return null;
}
