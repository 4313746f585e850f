import type { Exchange } from '../exchange.ts';
import { valueOf, type HeaderMutation } from './header-mutations.ts';
import { formatTraceparent } from '../observability/trace-context.ts';

// Request headers toward the mesh (SPEC "Headers toward the mesh"), built in one pass over the raw
// headers into the flat [name, value, …] array undici takes; traceparent is always the last pair.
// Hop-by-hop headers (RFC 9110 §7.6.1) and anything the Connection header names are dropped; the
// forwarding and trace-context headers are set by us.

const DROPPED = new Set([
  'connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'te', 'trailer',
  'expect', 'http2-settings', 'host', 'x-forwarded-for', 'x-forwarded-proto', 'x-forwarded-host',
  'x-request-id', 'traceparent', 'tracestate',
]);

/** Lower-cases only when needed (HTTP/2 names already are, most HTTP/1.1 clients send mixed case). */
function lower(name: string): string {
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    if (c >= 0x41 && c <= 0x5a) return name.toLowerCase();
  }
  return name;
}

function connectionTokens(value: string | undefined): Set<string> | null {
  if (!value) return null;
  const tokens = new Set<string>();
  for (const t of value.split(',')) {
    const name = t.trim().toLowerCase();
    if (name && name !== 'close' && name !== 'keep-alive') tokens.add(name);
  }
  return tokens.size > 0 ? tokens : null;
}

/**
 * `mutation`: the route's requestHeaders (applied to the client's headers, before filter-added ones);
 * `host`: the route's hostRewrite (x-forwarded-host keeps the client's authority).
 */
export function buildUpstreamHeaders(
  ex: Exchange,
  trustedPeer: boolean,
  mutation: HeaderMutation | null = null,
  host: string | null = null,
): string[] {
  const raw = ex.req.rawHeaders;
  const out: string[] = [];
  const named = connectionTokens(ex.req.headers.connection as string | undefined);
  const removed = ex.upstreamHeadersRemove;
  let xff: string | undefined;
  let xfProto: string | undefined;
  let xfHost: string | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i];
    if (name.charCodeAt(0) === 0x3a /* ':' pseudo-header */) continue;
    const lname = lower(name);
    if (DROPPED.has(lname)) {
      if (trustedPeer) {
        if (lname === 'x-forwarded-for') xff = xff === undefined ? raw[i + 1] : `${xff}, ${raw[i + 1]}`;
        else if (lname === 'x-forwarded-proto') xfProto ??= raw[i + 1];
        else if (lname === 'x-forwarded-host') xfHost ??= raw[i + 1];
      }
      continue;
    }
    if (named !== null && named.has(lname)) continue;
    if (removed !== null && removed.has(lname)) continue;
    if (mutation !== null && mutation.drop.has(lname)) continue;
    out.push(lname, raw[i + 1]);
  }
  if (mutation !== null) {
    const put = mutation.put;
    for (let i = 0; i < put.length; i += 2) out.push(put[i] as string, valueOf(put[i + 1], ex));
  }
  const added = ex.upstreamHeadersAdd;
  if (added !== null) for (let i = 0; i < added.length; i++) out.push(added[i]);
  out.push(
    'host', host ?? ex.authority,
    'x-forwarded-for', xff === undefined ? ex.peer : `${xff}, ${ex.peer}`,
    'x-forwarded-proto', xfProto ?? 'https',
    'x-forwarded-host', xfHost ?? ex.authority,
    'x-request-id', ex.requestId,
  );
  // W3C trace context (observability/trace-context.ts): the client's tracestate when its traceparent
  // was valid, and our traceparent LAST, so forward.ts can point it at each try's client span.
  if (ex.traceState !== null) out.push('tracestate', ex.traceState);
  out.push('traceparent', formatTraceparent(ex.traceId, ex.spanId, ex.sampled));
  return out;
}

const RESPONSE_DROPPED = ['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'te', 'trailer'];

/** Removes hop-by-hop headers from an upstream response's (mutable, freshly parsed) header object. */
export function stripResponseHopByHop(headers: Record<string, string | string[] | undefined>): void {
  const conn = headers.connection;
  if (conn !== undefined) {
    const named = connectionTokens(Array.isArray(conn) ? conn.join(',') : conn);
    if (named) for (const n of named) delete headers[n];
  }
  for (const n of RESPONSE_DROPPED) if (headers[n] !== undefined) delete headers[n];
}
