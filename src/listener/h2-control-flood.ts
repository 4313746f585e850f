import type { ServerHttp2Session } from 'node:http2';
import { calmDown } from './h2-calm.ts';

// PING and SETTINGS floods (CVE-2019-9512, CVE-2019-9515): every such frame must be answered with an
// acknowledgement, so a peer can make the gateway work and write without sending a single request.
// nghttp2 only stops a peer that does not read its acknowledgements (1000 queued), and then closes
// the connection without GOAWAY. Here each session has a budget of control frames: a burst of
// CONTROL_FRAME_BURST, refilled at CONTROL_FRAMES_PER_SECOND (a client's keep-alive pings or a
// settings change use a handful). A session that spends more is closed with GOAWAY ENHANCE_YOUR_CALM.

export const CONTROL_FRAME_BURST = 100;
export const CONTROL_FRAMES_PER_SECOND = 10;

export function guardControlFlood(session: ServerHttp2Session): void {
  let tokens = CONTROL_FRAME_BURST;
  let last = performance.now();
  const spend = () => {
    const now = performance.now();
    tokens = Math.min(CONTROL_FRAME_BURST, tokens + ((now - last) * CONTROL_FRAMES_PER_SECOND) / 1000);
    last = now;
    tokens -= 1;
    if (tokens < 0) calmDown(session, 'control frame flood');
  };
  session.on('ping', spend);
  session.on('remoteSettings', spend);
}
