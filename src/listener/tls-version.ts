import type { Http2Session } from 'node:http2';
import type { TLSSocket } from 'node:tls';
import type { GatewayRequest } from '../exchange.ts';
import { H2Request } from './h2-stream.ts';

// The TLS version of a client connection, read once at the handshake and kept on the connection
// (the TLS socket for HTTP/1.1, the session for HTTP/2), so a request reads it with one property
// access — and still has it after its HTTP/2 stream is detached from the session.

const TLS_VERSION = Symbol('gatehouse.tlsVersion');

type Tagged = { [TLS_VERSION]?: string | null };

export function tagTlsSocket(socket: TLSSocket): void {
  (socket as TLSSocket & Tagged)[TLS_VERSION] = socket.getProtocol();
}

export function tagHttp2Session(session: Http2Session): void {
  const s = session.socket as TLSSocket | undefined;
  (session as Http2Session & Tagged)[TLS_VERSION] = typeof s?.getProtocol === 'function' ? s.getProtocol() : null;
}

/** `TLSv1.3`, `TLSv1.2`, or null when unknown. Call while the request is live. */
export function tlsVersionOf(req: GatewayRequest): string | null {
  const owner = (req instanceof H2Request ? req.stream.session : req.socket) as Tagged | undefined;
  return owner?.[TLS_VERSION] ?? null;
}
