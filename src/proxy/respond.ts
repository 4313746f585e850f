import { errorBody, type GatewayErrorSpec } from '../errors.ts';
import type { Exchange } from '../exchange.ts';

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
  const extra = ex.responseHeadersAdd;
  if (extra !== null) for (let i = 0; i < extra.length; i += 2) headers[extra[i]] = extra[i + 1];
  if (extraHeaders) Object.assign(headers, extraHeaders);
  if (closeConnection && ex.req.httpVersionMajor === 1) headers.connection = 'close';
  res.writeHead(e.status, headers);
  if (ex.req.method === 'HEAD') res.end();
  else {
    ex.bytesOut += headers['content-length'] as number;
    res.end(body);
  }
}

/** Filters' response headers (RateLimit-*, …) on the gateway's own answers too. */
function withAdded(ex: Exchange, headers: Record<string, string | number>): Record<string, string | number> {
  const extra = ex.responseHeadersAdd;
  if (extra !== null) for (let i = 0; i < extra.length; i += 2) headers[extra[i]] = extra[i + 1];
  return headers;
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
