import https from 'node:https';
import http2 from 'node:http2';
import type { IncomingHttpHeaders } from 'node:http';
import type { TestPki } from './pki.ts';

// Real HTTP/1.1 and HTTP/2 clients over TLS that trust the test CA.

export interface Reply {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
  alpn?: string | false;
}

export function h1(
  pki: TestPki,
  port: number,
  path: string,
  o: { method?: string; headers?: Record<string, string>; body?: string | Buffer; servername?: string; agent?: https.Agent } = {},
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const options: https.RequestOptions & { ALPNProtocols: string[] } = {
        host: '127.0.0.1',
        port,
        path,
        method: o.method ?? 'GET',
        headers: { host: `localhost:${port}`, ...o.headers },
        ca: pki.read('ca.crt'),
        servername: o.servername ?? 'localhost',
        agent: o.agent ?? false,
        ALPNProtocols: ['http/1.1'],
    };
    const req = https.request(
      options,
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString(), alpn }),
        );
        res.on('error', reject);
      },
    );
    let alpn: string | false | undefined;
    req.on('socket', (sock) => sock.once('secureConnect', () => (alpn = (sock as any).alpnProtocol)));
    req.on('error', reject);
    req.end(o.body);
  });
}

export async function h2(
  pki: TestPki,
  port: number,
  path: string,
  o: { method?: string; headers?: Record<string, string>; body?: string | Buffer; servername?: string } = {},
): Promise<Reply> {
  const session = http2.connect(`https://localhost:${port}`, { ca: pki.read('ca.crt'), servername: o.servername ?? 'localhost' });
  try {
    return await new Promise<Reply>((resolve, reject) => {
      session.on('error', reject);
      const stream = session.request({ ':method': o.method ?? 'GET', ':path': path, ...(o.headers ?? {}) }, { endStream: o.body === undefined });
      let headers: IncomingHttpHeaders = {};
      const chunks: Buffer[] = [];
      stream.on('response', (h) => (headers = h as IncomingHttpHeaders));
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => resolve({ status: Number(headers[':status']), headers, body: Buffer.concat(chunks).toString(), alpn: session.alpnProtocol }));
      stream.on('error', reject);
      if (o.body !== undefined) stream.end(o.body);
    });
  } finally {
    session.close();
  }
}
