import { constants, type ServerHttp2Session } from 'node:http2';

// How every HTTP/2 defence ends an abusive session: GOAWAY with ENHANCE_YOUR_CALM (RFC 9113 §7), then
// the connection is closed. Streams of other sessions are not affected.

export function calmDown(session: ServerHttp2Session, reason: string): void {
  if (session.destroyed) return;
  // destroy(err, code) submits a final GOAWAY carrying `code` and flushes it before closing the socket
  // (an undefined `err` would default the code to NO_ERROR). The error goes to the session's own
  // 'error' listener, which the listener installs.
  session.destroy(new Error(`${reason}: session closed`), constants.NGHTTP2_ENHANCE_YOUR_CALM);
}
