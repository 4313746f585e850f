import type { TLSSocket } from 'node:tls';
import type { Exchange } from '../../exchange.ts';
import { plainAddress } from '../../listener/client-address.ts';
import { requestHasBody } from '../../request-body.ts';

// What the authorization service is told about a request (Envoy's AttributeContext). The headers are
// the request's as they stand at this point of the filter chain, like Envoy's: what earlier filters
// removed (an edge token with forwardToken: false, spoofed identity headers) is not sent, what they
// added (claimsToHeaders) is. The client certificate is never present at the edge (clients do not
// present one to gatehouse), so `source.principal` and `source.certificate` stay empty.

/** Client headers the gateway replaces or that belong to one hop only: not part of the request's view. */
const NOT_FORWARDED = new Set([
  'connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'te', 'trailer', 'expect',
  'http2-settings', 'host', 'x-forwarded-for', 'x-forwarded-proto', 'x-forwarded-host', 'x-request-id',
]);

/** Signals to the service that the body it got is cut at maxBytes (Envoy's header). */
export const PARTIAL_BODY_HEADER = 'x-envoy-auth-partial-body';

export interface BodyPart {
  readonly bytes: Buffer;
  /** The request's body is longer than `bytes`. */
  readonly partial: boolean;
}

function lower(name: string): string {
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    if (c >= 0x41 && c <= 0x5a) return name.toLowerCase();
  }
  return name;
}

function merge(out: Record<string, string>, name: string, value: string): void {
  const prev = out[name];
  // RFC 9110 §5.3: repeated fields join with commas; Cookie joins with "; " (RFC 9113 §8.2.3).
  out[name] = prev === undefined ? value : `${prev}${name === 'cookie' ? '; ' : ', '}${value}`;
}

/**
 * The request headers as they would go upstream now (client's minus filters' removals plus filters'
 * additions), lower-cased, repeated ones merged, with Envoy's pseudo-headers and the request id.
 */
export function currentHeaders(ex: Exchange): Record<string, string> {
  const out: Record<string, string> = Object.create(null);
  const raw = ex.req.rawHeaders;
  const removed = ex.upstreamHeadersRemove;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i];
    if (name.charCodeAt(0) === 0x3a /* ':' pseudo-header, set below */) continue;
    const n = lower(name);
    if (NOT_FORWARDED.has(n) || (removed !== null && removed.has(n))) continue;
    merge(out, n, raw[i + 1]);
  }
  const added = ex.upstreamHeadersAdd;
  if (added !== null) for (let i = 0; i < added.length; i += 2) merge(out, added[i], added[i + 1]);
  out[':authority'] = ex.authority;
  out[':method'] = ex.req.method ?? 'GET';
  out[':path'] = ex.path + ex.query;
  out[':scheme'] = 'https';
  out['x-request-id'] = ex.requestId;
  out['x-forwarded-proto'] = 'https';
  return out;
}

/** One header of the request as it would go upstream now (see currentHeaders), or undefined. */
export function currentHeader(ex: Exchange, name: string): string | undefined {
  let value: string | undefined;
  if (ex.upstreamHeadersRemove === null || !ex.upstreamHeadersRemove.has(name)) {
    const v = ex.req.headers[name];
    if (v !== undefined) value = Array.isArray(v) ? v.join(', ') : v;
  }
  const added = ex.upstreamHeadersAdd;
  if (added !== null) {
    for (let i = 0; i < added.length; i += 2) {
      if (added[i] === name) value = value === undefined ? added[i + 1] : `${value}${name === 'cookie' ? '; ' : ', '}${added[i + 1]}`;
    }
  }
  return value;
}

/** `claim.<name>` for every top-level claim of the verified edge token: strings as they are, the rest as JSON. */
export function claimExtensions(ex: Exchange, into: Record<string, string>): void {
  const claims = ex.claims;
  if (claims === null) return;
  for (const key of Object.keys(claims)) {
    const v = claims[key];
    if (v === undefined) continue;
    into[`claim.${key}`] = typeof v === 'string' ? v : JSON.stringify(v);
  }
}

function socketAddress(address: string, port: number | undefined) {
  return { address: { socket_address: { address, port_value: port ?? 0 } } };
}

export interface CheckSettings {
  /** The route's own context extensions (config contextExtensions, route, virtualHost). */
  readonly contextExtensions: Readonly<Record<string, string>>;
  /** Body as bytes (`raw_body`) instead of a UTF-8 string (`body`). */
  readonly packAsBytes: boolean;
}

/** An envoy.service.auth.v3.CheckRequest as a plain object (Envoy's field names) for protobufjs. */
export function buildCheckRequest(ex: Exchange, s: CheckSettings, body: BodyPart | null): Record<string, unknown> {
  const req = ex.req;
  const socket = req.socket as TLSSocket | undefined;
  const headers = currentHeaders(ex);
  const http: Record<string, unknown> = {
    id: ex.requestId,
    method: req.method ?? 'GET',
    headers,
    path: ex.path + ex.query,
    host: ex.authority,
    scheme: 'https',
    size: requestSize(ex, body),
    protocol: req.httpVersionMajor === 2 ? 'HTTP/2' : `HTTP/1.${req.httpVersionMinor}`,
  };
  if (body !== null) {
    headers[PARTIAL_BODY_HEADER] = body.partial ? 'true' : 'false';
    if (s.packAsBytes) http.raw_body = body.bytes;
    else http.body = body.bytes.toString('utf8');
  }
  const ext: Record<string, string> = Object.assign(Object.create(null), s.contextExtensions);
  claimExtensions(ex, ext);
  const ms = performance.timeOrigin + ex.startedAt;
  const attributes: Record<string, unknown> = {
    // The client's own port is known only when the client address is the socket peer.
    source: socketAddress(ex.clientIp, ex.clientIp === ex.peer ? socket?.remotePort : 0),
    destination: socketAddress(plainAddress(socket?.localAddress), socket?.localPort),
    request: { time: { seconds: Math.floor(ms / 1000), nanos: Math.floor((ms % 1000) * 1e6) }, http },
    context_extensions: ext,
  };
  const sni = socket?.servername;
  if (typeof sni === 'string' && sni !== '') attributes.tls_session = { sni };
  return { attributes };
}

/** The body's size in bytes, or -1 when unknown (Envoy's convention). */
function requestSize(ex: Exchange, body: BodyPart | null): number {
  if (!requestHasBody(ex)) return 0;
  const cl = ex.req.headers['content-length'];
  if (cl !== undefined) return Number(cl);
  if (body !== null && !body.partial) return body.bytes.length;
  return -1;
}
