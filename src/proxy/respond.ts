import { constants as h2constants, type OutgoingHttpHeaders } from 'node:http2';
import type { Readable } from 'node:stream';
import { errorBody, grpcStatusForHttp, type GatewayErrorSpec } from '../errors.ts';
import type { Exchange } from '../exchange.ts';
import type { FilterResponse, Rejection } from '../filters/filter.ts';
import { H2Request, H2Response } from '../listener/h2-stream.ts';

// Responses the gateway makes itself: errors (JSON per SPEC, or gRPC's own form for gRPC clients),
// direct responses and redirects.

/** A gRPC request (`application/grpc`, `application/grpc+proto`, …; not gRPC-Web, which has its own framing). */
export function isGrpcRequest(ex: Exchange): boolean {
  const ct = ex.req.headers['content-type'];
  return ct !== undefined && ct.startsWith('application/grpc') && (ct.length === 16 || ct[16] === '+' || ct[16] === ';');
}

/** grpc-message is percent-encoded: every byte outside 0x20–0x7E, and '%' itself (gRPC over HTTP/2 spec). */
export function grpcMessage(text: string): string {
  let out = '';
  for (const byte of Buffer.from(text, 'utf8')) {
    out += byte >= 0x20 && byte <= 0x7e && byte !== 0x25 ? String.fromCharCode(byte) : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/**
 * Answers with the gateway error `e`. When the error ends the request stream (malformed, too large,
 * too slow: the rest of the bytes cannot be trusted), HTTP/1.1 closes the connection and HTTP/2
 * resets the stream's unread body once the answer is out; `endRequest` asks for that for any error.
 */
export function sendError(ex: Exchange, e: GatewayErrorSpec, extraHeaders?: Record<string, string>, endRequest = false): void {
  const ends = endRequest || e.endsRequestStream;
  const res = ex.res;
  ex.errorCode = e.code;
  if (res.headersSent) {
    // Too late for a status: the only honest signal left is to cut the response.
    res.destroy();
    return;
  }
  if (isGrpcRequest(ex)) {
    sendGrpcError(ex, e, extraHeaders, ends);
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
  if (ends) endRequestStream(ex, headers);
  res.writeHead(e.status, headers);
  if (ex.req.method === 'HEAD') res.end();
  else {
    ex.bytesOut += headers['content-length'] as number;
    res.end(body);
  }
}

/**
 * A gateway error for a gRPC client: HTTP 200 and a trailers-only answer (one HEADERS frame with
 * END_STREAM) carrying `grpc-status` and `grpc-message`, with the error code beside them.
 */
function sendGrpcError(ex: Exchange, e: GatewayErrorSpec, extraHeaders: Record<string, string> | undefined, ends: boolean): void {
  const headers = grpcAnswerHeaders(ex, e.grpcStatus, e.message, e.code);
  addFilterResponseHeaders(ex, headers);
  if (extraHeaders) Object.assign(headers, extraHeaders);
  if (ends) endRequestStream(ex, headers);
  endWithHeadersOnly(ex, 200, headers);
}

/** The head of a trailers-only gRPC answer the gateway makes itself. */
function grpcAnswerHeaders(ex: Exchange, grpcStatus: number, message: string, code: string): Record<string, string | number> {
  return {
    'content-type': 'application/grpc',
    'grpc-status': String(grpcStatus),
    'grpc-message': grpcMessage(message),
    'x-gatehouse-error': code,
    'x-request-id': ex.requestId,
  };
}

/** HTTP/1.1: ask to close; HTTP/2: reset the stream with NO_ERROR after the answer if the body is still coming. */
function endRequestStream(ex: Exchange, headers: Record<string, string | number>): void {
  const req = ex.req;
  if (!(req instanceof H2Request)) {
    headers.connection = 'close';
    return;
  }
  if (req.complete) return;
  // RFC 9113 §8.1: a server that answered before the request ended may ask the client to stop
  // sending with RST_STREAM(NO_ERROR); otherwise the stream stays half-open until the session ends.
  const stream = req.stream;
  stream.once('finish', () => {
    if (!stream.destroyed) stream.close(h2constants.NGHTTP2_NO_ERROR);
  });
}

/**
 * Ends the response with its head only. Over HTTP/2 this is one HEADERS frame with END_STREAM, which
 * gRPC clients need to read a trailers-only answer.
 */
export function endWithHeadersOnly(ex: Exchange, status: number, headers: OutgoingHttpHeaders): void {
  const res = ex.res;
  if (res instanceof H2Response) {
    res.respondHeadersOnly(status, headers);
    return;
  }
  res.writeHead(status, headers);
  res.end();
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
  if (isGrpcRequest(ex)) {
    sendGrpcRejection(ex, r.error, own);
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

/** The longest grpc-message taken from a filter's body: it travels in a header, and gRPC clients bound their header lists (8–16 KiB). */
const GRPC_MESSAGE_MAX_BYTES = 1024;

/**
 * A filter's own answer (an ext_authz denial) to a gRPC client, in gRPC's terms as Envoy's local replies
 * are: HTTP 200 trailers-only, `grpc-status` mapped from the answer's HTTP status (401
 * UNAUTHENTICATED, 403 PERMISSION_DENIED, …), the body's text (its first 1 KiB) as `grpc-message`, the
 * answer's headers beside them. A plain HTTP 401 with a text body reaches a gRPC client as a bare
 * HTTP failure ("Received HTTP status code 401"), without the service's message.
 */
function sendGrpcRejection(ex: Exchange, e: GatewayErrorSpec, own: FilterResponse): void {
  const headers: MutableHeaders = { ...own.headers };
  delete headers['content-length'];
  addFilterResponseHeaders(ex, headers);
  const text = own.grpcMessage ?? own.body.subarray(0, GRPC_MESSAGE_MAX_BYTES).toString('utf8').trimEnd();
  // The gateway's own gRPC headers last: the filter's cannot replace them.
  Object.assign(headers, grpcAnswerHeaders(ex, grpcStatusForHttp(own.status), text, e.code));
  endWithHeadersOnly(ex, 200, headers as OutgoingHttpHeaders);
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
