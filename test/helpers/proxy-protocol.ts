import net from 'node:net';
import tls from 'node:tls';
import http2 from 'node:http2';
import type { TestPki } from './pki.ts';

// PROXY protocol headers written byte by byte (haproxy's proxy-protocol.txt), independent of the
// gateway's parser, and a client that sends one before its TLS handshake — what a cloud LB does.

export const V2_SIGNATURE = Buffer.from('0d0a0d0a000d0a515549540a', 'hex');

export function proxyV1(proto: 'TCP4' | 'TCP6', src: string, dst: string, sport: number, dport: number): Buffer {
  return Buffer.from(`PROXY ${proto} ${src} ${dst} ${sport} ${dport}\r\n`, 'latin1');
}

function ipBytes(addr: string): Buffer {
  if (net.isIPv4(addr)) return Buffer.from(addr.split('.').map(Number));
  // expand :: and write 8 groups
  const [head, tail = ''] = addr.split('::');
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const groups = addr.includes('::') ? [...h, ...Array(8 - h.length - t.length).fill('0'), ...t] : h;
  const out = Buffer.alloc(16);
  groups.forEach((g, i) => out.writeUInt16BE(parseInt(g, 16), i * 2));
  return out;
}

export interface V2Options {
  command?: 'proxy' | 'local';
  /** 0 AF_UNSPEC, 1 AF_INET, 2 AF_INET6, 3 AF_UNIX */
  family?: number;
  source?: { address: string; port: number };
  destination?: { address: string; port: number };
  /** Raw TLV records (type, value) appended after the addresses. */
  tlvs?: Array<{ type: number; value: Buffer }>;
  /** Overrides the version nibble (2) to write broken headers. */
  version?: number;
}

export function proxyV2(o: V2Options = {}): Buffer {
  const command = o.command === 'local' ? 0 : 1;
  const family = o.family ?? (o.source && net.isIPv6(o.source.address) ? 2 : o.source ? 1 : 0);
  let addresses = Buffer.alloc(0);
  if (o.source && o.destination) {
    const ports = Buffer.alloc(4);
    ports.writeUInt16BE(o.source.port, 0);
    ports.writeUInt16BE(o.destination.port, 2);
    addresses = Buffer.concat([ipBytes(o.source.address), ipBytes(o.destination.address), ports]);
  } else if (family === 3) {
    addresses = Buffer.alloc(216);
  }
  const tlvs = Buffer.concat(
    (o.tlvs ?? []).map((t) => {
      const head = Buffer.alloc(3);
      head[0] = t.type;
      head.writeUInt16BE(t.value.length, 1);
      return Buffer.concat([head, t.value]);
    }),
  );
  const head = Buffer.alloc(4);
  head[0] = ((o.version ?? 2) << 4) | command;
  head[1] = (family << 4) | 1; // STREAM
  head.writeUInt16BE(addresses.length + tlvs.length, 2);
  return Buffer.concat([V2_SIGNATURE, head, addresses, tlvs]);
}

/** A TCP connection to `port` that writes `header` first, then does TLS (ALPN as asked) over it. */
export async function tlsAfterHeader(
  pki: TestPki,
  port: number,
  header: Buffer,
  alpn: string[] = ['http/1.1'],
  localAddress?: string,
): Promise<tls.TLSSocket> {
  const raw = net.connect({ port, host: '127.0.0.1', localAddress });
  await new Promise<void>((resolve, reject) => {
    raw.once('connect', resolve);
    raw.once('error', reject);
  });
  raw.write(header);
  const socket = tls.connect({ socket: raw, servername: 'localhost', ca: pki.read('ca.crt'), ALPNProtocols: alpn });
  await new Promise<void>((resolve, reject) => {
    socket.once('secureConnect', resolve);
    socket.once('error', reject);
  });
  return socket;
}

/** One HTTP/1.1 request over a socket that already did its handshake; resolves with status, headers and body. */
export function h1Over(
  socket: tls.TLSSocket,
  path: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; headers: Record<string, string>; body: string }> {
  return new Promise((resolve, reject) => {
    let raw = '';
    socket.setEncoding('utf8');
    socket.on('data', (d: string) => (raw += d));
    socket.on('error', reject);
    socket.on('end', () => {
      const [head, ...rest] = raw.split('\r\n\r\n');
      const [statusLine, ...lines] = head.split('\r\n');
      const h: Record<string, string> = {};
      for (const l of lines) {
        const i = l.indexOf(':');
        h[l.slice(0, i).toLowerCase()] = l.slice(i + 1).trim();
      }
      resolve({ status: Number(statusLine.split(' ')[1]), headers: h, body: rest.join('\r\n\r\n') });
    });
    const extra = Object.entries(headers)
      .map(([k, v]) => `${k}: ${v}\r\n`)
      .join('');
    socket.write(`GET ${path} HTTP/1.1\r\nhost: localhost\r\nconnection: close\r\n${extra}\r\n`);
  });
}

/** One HTTP/2 request over a socket that negotiated h2. */
export async function h2Over(socket: tls.TLSSocket, path: string): Promise<{ status: number; body: string }> {
  const session = http2.connect('https://localhost', { createConnection: () => socket });
  try {
    return await new Promise((resolve, reject) => {
      session.on('error', reject);
      const stream = session.request({ ':path': path });
      let status = 0;
      let body = '';
      stream.on('response', (h) => (status = Number(h[':status'])));
      stream.setEncoding('utf8');
      stream.on('data', (d: string) => (body += d));
      stream.on('end', () => resolve({ status, body }));
      stream.on('error', reject);
    });
  } finally {
    session.close();
  }
}
