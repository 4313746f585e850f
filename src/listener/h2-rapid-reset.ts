import type { ServerHttp2Session, ServerHttp2Stream } from 'node:http2';
import { calmDown } from './h2-calm.ts';

// CVE-2023-44487, "rapid reset": a client opens streams and cancels each at once. A cancelled stream
// no longer counts against the concurrent-stream limit, so one connection can make the gateway start
// thousands of requests (each one routed, filtered and sent upstream) without ever waiting for an
// answer. nghttp2 (≥ 1.57) rate-limits incoming RST_STREAM only after a burst of 1000.
//
// Envoy's answer, followed here: once a session has had PREMATURE_RESET_MIN_STREAMS streams cancelled
// by the client before their response ended, and those are more than half of all its streams, the
// session is closed with GOAWAY ENHANCE_YOUR_CALM. A browser that cancels some navigations never gets
// there; an attacker gets there within its first hundred or so requests.

export const PREMATURE_RESET_MIN_STREAMS = 100;

export function guardRapidReset(session: ServerHttp2Session): void {
  let streams = 0;
  let resets = 0;
  // one listener per session, shared by its streams ('aborted': the peer reset a stream whose
  // response had not ended)
  const onAborted = () => {
    resets++;
    if (resets >= PREMATURE_RESET_MIN_STREAMS && resets * 2 > streams) calmDown(session, 'rapid reset');
  };
  session.on('stream', (stream: ServerHttp2Stream) => {
    streams++;
    stream.on('aborted', onAborted);
  });
}
