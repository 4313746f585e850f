import type { Exchange } from '../exchange.ts';
import { valueOf, type HeaderMutation } from './header-mutations.ts';
import { formatTraceparent } from '../observability/trace-context.ts';

// Request headers toward the mesh (SPEC "Headers toward the mesh"), built in one pass over the raw
// headers into the flat [name, value, …] array undici takes; traceparent is always the last pair.
// Hop-by-hop headers (RFC 9110 §7.6.1) and anything the Connection header names are dropped; the
// forwarding and trace-context headers are set by us.
// Mesh identity headers (`x-forwarded-client-cert`, `x-envoy-*`) are kept only from a peer in
// `trustedProxies`: from anyone else they are forged (Envoy's forward_client_cert_details: SANITIZE).

const DROPPED = new Set([
  'connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'te', 'trailer',
  'expect', 'http2-settings', 'host', 'x-forwarded-for', 'x-forwarded-proto', 'x-forwarded-host',
  'x-request-id', 'traceparent', 'tracestate',
]);

/** Headers a sidecar or the mesh trusts as set by its own proxies: never taken from an untrusted client. */
function isMeshIdentityHeader(lname: string): boolean {
  return lname.charCodeAt(0) === 0x78 /* 'x' */ && (lname.startsWith('x-envoy-') || lname === 'x-forwarded-client-cert');
}

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
  // The values nearly every peer sends name no header: answered without splitting.
  if (value === 'keep-alive' || value === 'close' || value === 'Keep-Alive' || value === 'Close') return null;
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
  let cookie: string | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i];
    if (name.charCodeAt(0) === 0x3a /* ':' pseudo-header */) continue;
    const lname = lower(name);
    if (DROPPED.has(lname)) {
      // `te: trailers` says the client takes trailers (gRPC requires it end to end); any other TE is hop-by-hop.
      if (lname === 'te' && raw[i + 1].trim().toLowerCase() === 'trailers') out.push('te', 'trailers');
      else if (trustedPeer) {
        if (lname === 'x-forwarded-for') xff = xff === undefined ? raw[i + 1] : `${xff}, ${raw[i + 1]}`;
        else if (lname === 'x-forwarded-proto') xfProto ??= raw[i + 1];
        else if (lname === 'x-forwarded-host') xfHost ??= raw[i + 1];
      }
      continue;
    }
    if (named !== null && named.has(lname)) continue;
    if (!trustedPeer && isMeshIdentityHeader(lname)) continue;
    if (removed !== null && removed.has(lname)) continue;
    if (mutation !== null && mutation.drop.has(lname)) continue;
    if (lname === 'cookie') {
      // HTTP/2 splits Cookie into crumbs; an HTTP/1.1 hop needs them joined with "; " (RFC 9113
      // §8.2.3), and one header is right for an HTTP/2 upstream too.
      cookie = cookie === undefined ? raw[i + 1] : `${cookie}; ${raw[i + 1]}`;
      continue;
    }
    out.push(lname, raw[i + 1]);
  }
  if (cookie !== undefined) out.push('cookie', cookie);
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

// `trailer` (which trailer fields follow) is end to end since RFC 9110 and is relayed with the trailers.
const RESPONSE_DROPPED = ['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'te'];

/** Trailer fields never relayed: framing, routing and hop-by-hop fields (RFC 9110 §6.5.1), pseudo-headers. */
const TRAILER_DROPPED = new Set([...RESPONSE_DROPPED, 'trailer', 'content-length', 'content-type', 'host', 'authorization', 'set-cookie', 'cache-control']);

/**
 * An HTTP/1.x response can carry trailers only when it is chunked: node refuses a `Trailer` header on
 * a response framed by Content-Length, to HEAD, 204/304 or to HTTP/1.0 (its trailers are dropped then).
 */
export function dropUnframedTrailerHeader(
  headers: Record<string, string | string[] | undefined>,
  req: { httpVersionMajor: number; httpVersionMinor: number; method?: string },
  status: number,
): void {
  if (headers.trailer === undefined || req.httpVersionMajor !== 1) return;
  if (headers['content-length'] !== undefined || req.httpVersionMinor === 0 || req.method === 'HEAD' || status === 204 || status === 304) {
    delete headers.trailer;
  }
}

/**
 * The upstream's response trailers ready for `res.addTrailers`, or null when there are none.
 * `trailers` may be undici's parsed object or, for HTTP/2, node's trailers object as it arrived.
 */
export function relayableTrailers(trailers: Record<string, unknown> | null | undefined): Record<string, string | string[]> | null {
  if (!trailers) return null;
  let out: Record<string, string | string[]> | null = null;
  for (const name of Object.keys(trailers)) {
    const v = trailers[name];
    if (name.charCodeAt(0) === 0x3a /* ':' */ || TRAILER_DROPPED.has(name.toLowerCase())) continue;
    if (typeof v !== 'string' && !Array.isArray(v)) continue;
    (out ??= {})[name] = v as string | string[];
  }
  return out;
}

/** Removes hop-by-hop headers from an upstream response's (mutable, freshly parsed) header object. */
export function stripResponseHopByHop(headers: Record<string, string | string[] | undefined>): void {
  const conn = headers.connection;
  if (conn !== undefined) {
    const named = connectionTokens(Array.isArray(conn) ? conn.join(',') : conn);
    if (named) for (const n of named) delete headers[n];
  }
  for (const n of RESPONSE_DROPPED) if (headers[n] !== undefined) delete headers[n];
}
