import { Errors, type GatewayErrorSpec } from '../errors.ts';
import type { GatewayRequest } from '../exchange.ts';
import { hostWithoutPort } from '../router/host-table.ts';

// Framing and authority checks that node's parsers leave to the application. llhttp already refuses
// Content-Length with Transfer-Encoding, two Content-Lengths, a chunked coding that is not the last,
// bad chunk sizes, obs-fold, bare CR/LF, NUL and a space before the colon (400 from the listener).
// What it accepts, and what is refused here:
//  - two Host headers (node keeps the first; an upstream may read the other): 400, RFC 9112 §3.2;
//  - Transfer-Encoding on an HTTP/1.0 request: 400 and close, RFC 9112 §6.1 ("faulty framing");
//  - a transfer coding other than `chunked` (`identity, chunked`, `gzip, chunked`): 501, as Envoy;
//  - HTTP/2: a `host` header that names another host than `:authority`: 400, RFC 9113 §8.3.1.
// Nothing here allocates on a well-formed request.

/**
 * A Transfer-Encoding value that is `chunked` alone, the only transfer coding the gateway relays
 * (requests here; upstream responses in proxy/forward.ts).
 */
export function isChunkedOnly(te: string | string[]): boolean {
  return te === 'chunked' || (typeof te === 'string' && te.trim().toLowerCase() === 'chunked');
}

export function framingError(req: GatewayRequest): GatewayErrorSpec | null {
  const headers = req.headers;
  if (req.httpVersionMajor === 2) {
    const host = headers.host;
    const authority = headers[':authority'] as string | undefined;
    if (host !== undefined && authority !== undefined && host !== authority && hostWithoutPort(host) !== hostWithoutPort(authority)) {
      return Errors.badRequest;
    }
    return null;
  }
  const te = headers['transfer-encoding'];
  if (te !== undefined) {
    if (req.httpVersionMinor === 0) return Errors.badRequest;
    if (!isChunkedOnly(te)) return Errors.unsupportedTransferCoding;
  }
  const raw = req.rawHeaders;
  let hosts = 0;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i];
    if (name.length === 4 && (name === 'Host' || name === 'host' || name.toLowerCase() === 'host') && ++hosts > 1) return Errors.badRequest;
  }
  return null;
}
