import { timingSafeEqual } from 'node:crypto';

// Who may read the admin API (SPEC: the optional admin token is required when not on loopback).
// The probes `/healthz` and `/readyz` are open to everyone: kubelet and cloud load balancers call them
// from outside loopback and cannot always send a token, and they say nothing but up/ready.

/** Paths answered without the token, from anywhere. */
export const OPEN_PATHS: ReadonlySet<string> = new Set(['/healthz', '/readyz']);

export function isLoopback(addr: string | undefined): boolean {
  return !!addr && (addr.startsWith('127.') || addr === '::1' || addr.startsWith('::ffff:127.'));
}

function tokenMatches(header: string | undefined, token: string): boolean {
  if (!header?.startsWith('Bearer ')) return false;
  const given = Buffer.from(header.slice(7));
  const want = Buffer.from(token);
  return given.length === want.length && timingSafeEqual(given, want);
}

/** True when a request for `path` from `remoteAddress` carrying `authorization` may be answered. */
export function adminAllowed(path: string, remoteAddress: string | undefined, authorization: string | undefined, token: string | undefined): boolean {
  if (!token || OPEN_PATHS.has(path) || isLoopback(remoteAddress)) return true;
  return tokenMatches(authorization, token);
}

/** The path of a request target without its query. */
export function pathOf(url: string | undefined): string {
  const u = url ?? '/';
  const q = u.indexOf('?');
  return q === -1 ? u : u.slice(0, q);
}
