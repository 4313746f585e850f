import { readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import type { TestPki } from './pki.ts';

// Real upstream servers on loopback for tests: plain HTTP or HTTPS with a required client
// certificate (as a mesh service). Every request is recorded; the handler decides the answer.

export interface SeenRequest {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  peerSan: string | null;
}

export type Handler = (req: http.IncomingMessage, res: http.ServerResponse) => void;

export interface TestUpstream {
  port: number;
  address: string;
  seen: SeenRequest[];
  server: http.Server;
  close(): Promise<void>;
}

/** Default handler: JSON echo of method, url and headers. */
export const echoHandler: Handler = (req, res) => {
  let bytes = 0;
  req.on('data', (c: Buffer) => (bytes += c.length));
  req.on('end', () => {
    const body = JSON.stringify({ method: req.method, url: req.url, headers: req.headers, bodyBytes: bytes });
    res.writeHead(200, { 'content-type': 'application/json', 'x-upstream': 'echo' });
    res.end(body);
  });
};

export function startUpstream(
  opts: { handler?: Handler; tls?: { pki: TestPki; requireClientCert?: boolean; /** default upstream.crt/.key */ certFile?: string; keyFile?: string } } = {},
): Promise<TestUpstream> {
  const seen: SeenRequest[] = [];
  const handler = opts.handler ?? echoHandler;
  const onRequest: Handler = (req, res) => {
    const sock = req.socket as TLSSocket;
    seen.push({
      method: req.method ?? '',
      url: req.url ?? '',
      headers: req.headers,
      peerSan: typeof sock.getPeerCertificate === 'function' ? (sock.getPeerCertificate().subjectaltname ?? null) : null,
    });
    handler(req, res);
  };
  const server: http.Server = opts.tls
    ? https.createServer(
        {
          cert: opts.tls.certFile ? readFileSync(opts.tls.certFile) : opts.tls.pki.read('upstream.crt'),
          key: opts.tls.keyFile ? readFileSync(opts.tls.keyFile) : opts.tls.pki.read('upstream.key'),
          ca: opts.tls.pki.read('ca.crt'),
          requestCert: opts.tls.requireClientCert ?? true,
          rejectUnauthorized: opts.tls.requireClientCert ?? true,
        },
        onRequest,
      )
    : http.createServer(onRequest);
  server.keepAliveTimeout = 60_000;
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      const port = (server.address() as AddressInfo).port;
      resolve({
        port,
        address: `127.0.0.1:${port}`,
        seen,
        server,
        close: () =>
          new Promise<void>((done) => {
            server.close(() => done());
            server.closeAllConnections();
          }),
      });
    });
  });
}
