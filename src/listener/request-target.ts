import type { IncomingMessage } from 'node:http';

// The request's target and authority, checked before routing (RFC 9112 §3.2, RFC 3986 §3.2).
//  - Host / :authority must be `host [":" port]`: a reg-name, an IPv4 address or a bracketed IPv6
//    literal, then digits. Anything else — userinfo (`user@host`), spaces, `/`, a second `:`, bytes
//    outside ASCII — is refused with 400 (RFC 9112 §3.2: a server MUST answer 400 to an invalid Host),
//    so an upstream never receives a Host it might parse differently from us.
//  - absolute-form (`GET https://example.com/a HTTP/1.1`), which a server MUST accept (RFC 9112
//    §3.2.2), is turned into origin-form with the target's authority as Host, the received Host being
//    ignored as the RFC asks; every later reader (routing, header matchers, authz, ext_authz, the
//    upstream's Host) then sees the one authority. Only `http` and `https` targets are accepted.

/** 1 for the characters of a reg-name (unreserved, sub-delims, `%` of pct-encoded), by char code. */
const REG_NAME = new Uint8Array(128);
for (const c of 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~!$&\'()*+,;=%') REG_NAME[c.charCodeAt(0)] = 1;

function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}

function isHex(c: number): boolean {
  return isDigit(c) || (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66);
}

/** `[":" *DIGIT]` from `from` to the end. */
function isPortPart(s: string, from: number): boolean {
  if (from === s.length) return true;
  if (s.charCodeAt(from) !== 0x3a /* : */) return false;
  for (let i = from + 1; i < s.length; i++) if (!isDigit(s.charCodeAt(i))) return false;
  return true;
}

/** `host [":" port]` as RFC 3986 writes it, without userinfo. No allocation. */
export function isValidAuthority(s: string): boolean {
  const n = s.length;
  if (n === 0) return false;
  if (s.charCodeAt(0) === 0x5b /* [ */) {
    // IP-literal: an IPv6 address (hex, ':' and a dotted IPv4 tail); IPvFuture is not accepted.
    let i = 1;
    for (; i < n; i++) {
      const c = s.charCodeAt(i);
      if (c === 0x5d /* ] */) break;
      if (!(isHex(c) || c === 0x3a || c === 0x2e)) return false;
    }
    return i > 1 && i < n && isPortPart(s, i + 1);
  }
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x3a /* : */) return i > 0 && isPortPart(s, i);
    if (c >= 128 || REG_NAME[c] === 0) return false;
    if (c === 0x25 /* % */ && !(i + 2 < n && isHex(s.charCodeAt(i + 1)) && isHex(s.charCodeAt(i + 2)))) return false;
  }
  return true;
}

/** Length of an `http://` or `https://` prefix (any case), or 0. */
function schemeLength(t: string): number {
  const lower = (i: number) => t.charCodeAt(i) | 0x20;
  if (t.length < 7 || lower(0) !== 0x68 || lower(1) !== 0x74 || lower(2) !== 0x74 || lower(3) !== 0x70) return 0; // "http"
  let i = 4;
  if (lower(i) === 0x73 /* s */) i++;
  return t.charCodeAt(i) === 0x3a && t.charCodeAt(i + 1) === 0x2f && t.charCodeAt(i + 2) === 0x2f ? i + 3 : 0;
}

/**
 * An HTTP/1.x request target as origin-form: one already is (`/…`) and is left as it is; one in
 * absolute-form is rewritten (adoptAbsoluteForm). Returns false — answer 400 — for anything else
 * (`*`, another scheme, no authority); the authority itself is checked with the Host afterwards.
 */
export function ensureOriginForm(req: IncomingMessage): boolean {
  const url = req.url;
  return url !== undefined && (url.charCodeAt(0) === 0x2f /* / */ || adoptAbsoluteForm(req));
}

/**
 * `req.url` becomes the path and query, and Host (parsed and raw) the target's authority. False when
 * the target is not an `http(s)://authority…` URL.
 */
function adoptAbsoluteForm(req: IncomingMessage): boolean {
  const target = req.url ?? '';
  const start = schemeLength(target);
  if (start === 0) return false;
  let end = start;
  while (end < target.length) {
    const c = target.charCodeAt(end);
    if (c === 0x2f /* / */ || c === 0x3f /* ? */) break;
    end++;
  }
  const authority = target.slice(start, end);
  if (authority.length === 0) return false;
  const rest = target.slice(end);
  req.url = rest.length === 0 ? '/' : rest.charCodeAt(0) === 0x3f ? `/${rest}` : rest;
  req.headers.host = authority;
  const raw = req.rawHeaders;
  let replaced = false;
  for (let i = 0; i < raw.length; i += 2) {
    if (raw[i]!.length === 4 && raw[i]!.toLowerCase() === 'host') {
      raw[i + 1] = authority;
      replaced = true;
    }
  }
  if (!replaced) raw.push('Host', authority);
  return true;
}
