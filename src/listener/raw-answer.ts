import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { errorBody, Errors, type GatewayErrorSpec } from '../errors.ts';
import { newRequestId } from '../proxy/request-id.ts';

// Answers written straight on an HTTP/1.1 socket, where node hands us no response object: a request
// its parser refused, and CONNECT.

/** The gateway's JSON answer for `e`, then the connection closed. */
export function answerAndClose(socket: Duplex, e: GatewayErrorSpec): void {
  const id = newRequestId();
  const body = errorBody(e, id);
  socket.end(
    `HTTP/1.1 ${e.status} ${e.code}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\n` +
      `x-request-id: ${id}\r\nconnection: close\r\n\r\n${body}`,
  );
}

/**
 * A server's 'connect' listener. CONNECT asks for a forward-proxy tunnel, which an edge gateway does
 * not open: 501, as over HTTP/2 (without a listener node drops the connection without a word).
 */
export function onConnectMethod(_req: IncomingMessage, socket: Duplex): void {
  if (socket.writable) answerAndClose(socket, Errors.connectNotSupported);
  else socket.destroy();
}
