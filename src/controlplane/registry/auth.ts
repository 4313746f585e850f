/**
 * Who may use the registry. With `registry.token` set, every peer that is not on loopback must show
 * it: `Authorization: Bearer <token>` (API clients, instances), or the session cookie the login page
 * sets (browsers: a plain HTML form cannot send a header). The cookie holds an HMAC derived from the
 * token, never the token itself. The config refuses a non-loopback address without a token.
 *
 * Browsers are also kept from acting for another site: a form POST whose Origin is not this host is
 * refused (CSRF), and while bound to loopback only loopback Host names are answered (DNS rebinding).
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';

export const SESSION_COOKIE = 'gatehouse_registry';

export function isLoopbackPeer(addr: string | undefined): boolean {
  return !!addr && (addr.startsWith('127.') || addr === '::1' || addr.startsWith('::ffff:127.'));
}

function equal(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

export class RegistryAuth {
  private readonly session: string | null;

  constructor(private readonly token: string | undefined) {
    this.session = token ? createHmac('sha256', token).update('gatehouse-registry-session-v1').digest('base64url') : null;
  }

  get enabled(): boolean {
    return this.token !== undefined;
  }

  /** True when this request may proceed. */
  allows(peer: string | undefined, headers: IncomingHttpHeaders): boolean {
    if (!this.token || isLoopbackPeer(peer)) return true;
    const auth = headers.authorization;
    if (auth?.startsWith('Bearer ') && equal(auth.slice(7), this.token)) return true;
    const cookie = readCookie(headers.cookie, SESSION_COOKIE);
    return cookie !== null && this.session !== null && equal(cookie, this.session);
  }

  /** The Set-Cookie value after a correct token on the login form; null when it is wrong. */
  login(given: string): string | null {
    if (!this.token || !this.session || !equal(given, this.token)) return null;
    return `${SESSION_COOKIE}=${this.session}; Path=/; HttpOnly; SameSite=Strict; Max-Age=43200`;
  }
}

function readCookie(header: string | undefined, name: string): string | null {
  if (!header) return null;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return null;
}

/** A cross-site form POST (CSRF): its Origin names another host, or the browser says cross-site. */
export function isCrossSite(headers: IncomingHttpHeaders): boolean {
  if (headers['sec-fetch-site'] === 'cross-site') return true;
  const origin = headers.origin;
  if (origin === undefined || origin === 'null') return origin === 'null';
  try {
    return new URL(origin).host !== headers.host;
  } catch {
    return true;
  }
}

/** While bound to loopback, a Host that is not a loopback name is a DNS-rebinding attempt. */
export function isLoopbackHostHeader(host: string | undefined): boolean {
  if (!host) return true; // HTTP/1.0 without Host: no browser sends that
  const name = host.startsWith('[') ? host.slice(1, host.indexOf(']')) : host.replace(/:\d+$/, '');
  return name === 'localhost' || name === '::1' || /^127\.\d+\.\d+\.\d+$/.test(name);
}
