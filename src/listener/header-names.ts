import type { Exchange } from '../exchange.ts';

// Request header names with an underscore (`x_auth_sub`), decided once per request where its headers
// are first read. Many upstream stacks (CGI-style servers, PHP, Rails, nginx with
// underscores_in_headers) fold `_` and `-` together, so `x_auth_sub` would reach them as the
// `x-auth-sub` the gateway derives from a verified token. As Envoy's headers_with_underscores_action
// advises at the edge: refuse the request (default) or drop those headers before anything reads them.

/** Index in rawHeaders of the first name with an underscore, or -1 (the common case: no allocation). */
export function firstUnderscoreHeader(raw: readonly string[]): number {
  for (let i = 0; i < raw.length; i += 2) if (raw[i].indexOf('_') !== -1) return i;
  return -1;
}

/**
 * `drop`: removes every header whose name has an underscore, from the parsed headers (so matchers,
 * authn, authz and rate-limit keys never see them) and from what is forwarded.
 */
export function dropUnderscoreHeaders(ex: Exchange, raw: readonly string[], from: number): void {
  const headers = ex.req.headers as Record<string, unknown>;
  const removed = (ex.upstreamHeadersRemove ??= new Set());
  for (let i = from; i < raw.length; i += 2) {
    if (raw[i].indexOf('_') === -1) continue;
    const name = raw[i].toLowerCase();
    delete headers[name];
    removed.add(name);
  }
}
