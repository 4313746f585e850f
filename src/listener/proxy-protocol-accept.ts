import type { Server, Socket } from 'node:net';
import { Counter } from 'prom-client';
import { parseProxyHeader, V2_MAX_BYTES, type ProxyAddress } from './proxy-protocol.ts';
import { log } from '../observability/logger.ts';
import { registry } from '../observability/metrics.ts';

// Puts a PROXY-protocol reader in front of a listening server (TLS, HTTP/2 or plain HTTP): each new
// connection's header is read and taken off the stream before the server sees the socket, then the
// socket is handed to the server's own 'connection' handling (the TLS handshake starts there) with
// any bytes read past the header put back. A connection whose header is missing, malformed or not
// complete within the time limit is closed; nothing else is affected.
//
// The source address is remembered under the connection's (peer address, peer port) until the server
// has wrapped the socket: `takeSource` hands it to the TLS socket the server made of it (the raw socket
// and its TLS socket share that pair; see https-listener.ts).

export interface ProxyProtocolOptions {
  /** Read per connection, so a reload can turn PROXY protocol on or off for the next connection. */
  enabled(): boolean;
  /** Time allowed for the whole header (the listener's headersTimeout). */
  timeoutMs(): number;
}

export interface ProxyProtocolIntake {
  /** The PROXY source for a socket the server wrapped (looked up by its peer address and port), once. */
  takeSource(socket: { remoteAddress?: string; remotePort?: number }): ProxyAddress | null;
}

const rejected = new Counter({
  name: 'gatehouse_proxy_protocol_rejected_total',
  help: 'Connections closed because their PROXY protocol header was missing, malformed or late',
  labelNames: ['listener'] as const,
  registers: [registry],
});

/** A load balancer that does not send PROXY headers loses every connection: say so, at most once a minute. */
const WARN_EVERY_MS = 60_000;

function pairKey(address: string | undefined, port: number | undefined): string {
  return `${address}|${port}`;
}

export function interceptProxyProtocol(server: Server, listener: string, opts: ProxyProtocolOptions): ProxyProtocolIntake {
  const handOver = server.listeners('connection') as ((socket: Socket) => void)[];
  server.removeAllListeners('connection');
  const sources = new Map<string, ProxyAddress>();
  const rejections = rejected.labels(listener);
  let warnedAt = -Infinity;

  server.on('connection', (socket: Socket) => {
    if (socket.destroyed) return; // refused by a listener before this one (the connection budget)
    if (!opts.enabled()) {
      for (const fn of handOver) fn.call(server, socket);
      return;
    }
    let buf: Buffer = Buffer.alloc(0);
    const fail = (reason: string) => {
      cleanup();
      socket.destroy();
      rejections.inc();
      const now = Date.now();
      if (now - warnedAt >= WARN_EVERY_MS) {
        warnedAt = now;
        log.warn({ listener, reason }, 'PROXY protocol: connection closed (further ones counted in gatehouse_proxy_protocol_rejected_total)');
      }
    };
    const timer = setTimeout(() => fail('no complete header in time'), opts.timeoutMs());
    const onData = (chunk: Buffer) => {
      buf = buf.length === 0 ? chunk : Buffer.concat([buf, chunk]);
      const h = parseProxyHeader(buf);
      if (h.kind === 'incomplete') {
        if (buf.length > V2_MAX_BYTES) fail('header too long');
        return;
      }
      if (h.kind === 'invalid') {
        fail(h.reason);
        return;
      }
      cleanup();
      socket.pause();
      if (buf.length > h.length) socket.unshift(buf.subarray(h.length));
      if (h.source !== null) {
        const key = pairKey(socket.remoteAddress, socket.remotePort);
        sources.set(key, h.source);
        socket.once('close', () => sources.delete(key));
      }
      for (const fn of handOver) fn.call(server, socket);
    };
    const onEnd = () => fail('closed before a header');
    const onError = () => fail('socket error');
    function cleanup(): void {
      clearTimeout(timer);
      socket.off('data', onData);
      socket.off('end', onEnd);
      socket.off('error', onError);
    }
    socket.on('data', onData);
    socket.on('end', onEnd);
    socket.on('error', onError);
  });

  return {
    takeSource(s) {
      if (sources.size === 0) return null;
      const key = pairKey(s.remoteAddress, s.remotePort);
      const src = sources.get(key) ?? null;
      if (src !== null) sources.delete(key);
      return src;
    },
  };
}
