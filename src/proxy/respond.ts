import type { Readable } from 'node:stream';
import { errorBody, type GatewayErrorSpec } from '../errors.ts';
import type { Exchange } from '../exchange.ts';
import type { Rejection } from '../filters/filter.ts';

// Responses the gateway makes itself: errors (JSON per SPEC), direct responses and redirects.

/**
 * Answers with the gateway error `e`. `closeConnection` asks an HTTP/1.1 client to close (after a
 * malformed or oversized request the rest of the stream cannot be trusted); HTTP/2 has no such header.
 */
export function sendError(ex: Exchange, e: GatewayErrorSpec, extraHeaders?: Record<string, string>, closeConnection = false): void {
  const res = ex.res;
  ex.errorCode = e.code;
  if (res.headersSent) {
    // Too late for a status: the only honest signal left is to cut the response.
    res.destroy();
    return;
  }
  const body = errorBody(e, ex.requestId);
  const headers: Record<string, string | number> = {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(body),
    'x-request-id': ex.requestId,
    'cache-control': 'no-store',
  };
  addFilterResponseHeaders(ex, headers);
  if (extraHeaders) Object.assign(headers, extraHeaders);
  if (closeConnection && ex.req.httpVersionMajor === 1) headers.connection = 'close';
  res.writeHead(e.status, headers);
  if (ex.req.method === 'HEAD') res.end();
  else {
    ex.bytesOut += headers['content-length'] as number;
    res.end(body);
  }
}

type MutableHeaders = Record<string, string | string[] | number | undefined>;

/**
 * Filters' response headers (RateLimit-*, ext_authz's) on any response: `responseHeadersAdd` replaces
 * a header of the same name, `responseHeadersAppend` adds one more value.
 */
export function addFilterResponseHeaders(ex: Exchange, headers: MutableHeaders): void {
  const set = ex.responseHeadersAdd;
  if (set !== null) for (let i = 0; i < set.length; i += 2) headers[set[i]] = set[i + 1];
  const more = ex.responseHeadersAppend;
  if (more === null) return;
  for (let i = 0; i < more.length; i += 2) {
    const prev = headers[more[i]];
    if (prev === undefined) headers[more[i]] = more[i + 1];
    else if (Array.isArray(prev)) prev.push(more[i + 1]);
    else headers[more[i]] = [String(prev), more[i + 1]];
  }
}

function withAdded(ex: Exchange, headers: Record<string, string | number>): MutableHeaders {
  addFilterResponseHeaders(ex, headers);
  return headers;
}

/**
 * A filter's refusal: the gateway's JSON error, or (ext_authz denial) the response the filter chose.
 * A body a filter had started reading is drained, so an HTTP/1.1 connection can carry the next request.
 */
export function sendRejection(ex: Exchange, r: Rejection): void {
  const body = ex.prefetchedBody;
  if (body !== null && !Buffer.isBuffer(body)) (body as Readable).resume();
  const own = r.response;
  if (own === undefined) {
    sendError(ex, r.error, r.headers, r.closeConnection === true);
    return;
  }
  ex.errorCode = r.error.code;
  if (ex.res.headersSent) {
    ex.res.destroy();
    return;
  }
  const headers: MutableHeaders = { ...own.headers };
  addFilterResponseHeaders(ex, headers);
  // No body where HTTP forbids one (HEAD, 204, 304).
  const bodyless = ex.req.method === 'HEAD' || own.status === 204 || own.status === 304;
  if (own.status !== 204) headers['content-length'] = bodyless ? 0 : own.body.length;
  else delete headers['content-length'];
  headers['x-request-id'] = ex.requestId;
  try {
    ex.res.writeHead(own.status, headers as Record<string, string | string[] | number>);
  } catch {
    // A header node refuses to send (on HTTP/2, say): the filter's answer cannot be relayed.
    sendError(ex, r.error);
    return;
  }
  if (!bodyless) ex.bytesOut += own.body.length;
  ex.res.end(bodyless ? undefined : own.body);
}

export function sendDirect(ex: Exchange, status: number, body: Buffer, contentType: string): void {
  ex.res.writeHead(
    status,
    withAdded(ex, {
      'content-type': contentType,
      'content-length': body.length,
      'x-request-id': ex.requestId,
    }),
  );
  if (ex.req.method === 'HEAD') ex.res.end();
  else {
    ex.bytesOut += body.length;
    ex.res.end(body);
  }
}

export function sendRedirect(ex: Exchange, status: number, location: string): void {
  ex.res.writeHead(status, withAdded(ex, { location, 'content-length': 0, 'x-request-id': ex.requestId }));
  ex.res.end();
}
