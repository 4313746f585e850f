import https from 'node:https';
import http from 'node:http';
import type { TLSSocket } from 'node:tls';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

// The demo service behind `npm start`: an HTTPS echo server that requires a client certificate
// from the development CA (mutual TLS, as a mesh service would) and answers with what it saw,
// including the caller's SPIFFE identity (`caller`) and which version of the service answered (the
// demo runs v1 and v2 behind a canary split). Not part of the gateway.

export interface EchoUpstream {
  readonly port: number;
  close(): Promise<void>;
}

/** The caller's SPIFFE id from its certificate's URI SAN, or null. */
function spiffeIdOf(san: string | undefined): string | null {
  const m = /URI:(spiffe:\/\/[^,\s]+)/.exec(san ?? '');
  return m ? m[1] : null;
}

const echo = (version: string) => (req: http.IncomingMessage, res: http.ServerResponse): void => {
  const chunks: Buffer[] = [];
  let size = 0;
  req.on('data', (c: Buffer) => {
    size += c.length;
    if (size <= 64 * 1024) chunks.push(c);
  });
  req.on('end', () => {
    const peer = (req.socket as TLSSocket).getPeerCertificate?.();
    const body = JSON.stringify({
      service: 'echo',
      version,
      caller: spiffeIdOf(peer?.subjectaltname),
      method: req.method,
      url: req.url,
      headers: req.headers,
      bodyBytes: size,
      peerIdentity: peer?.subjectaltname ?? null,
    }, null, 2);
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) + 1, 'x-echo-version': version });
    res.end(body + '\n');
  });
};

export function startEchoUpstream(certDir: string, host = '127.0.0.1', port = 9443, version = 'v1'): Promise<EchoUpstream> {
  const server = https.createServer(
    {
      cert: readFileSync(join(certDir, 'upstream.crt')),
      key: readFileSync(join(certDir, 'upstream.key')),
      ca: readFileSync(join(certDir, 'ca.crt')),
      requestCert: true,
      rejectUnauthorized: true, // only callers with a certificate from the dev CA get in
      minVersion: 'TLSv1.2',
    },
    echo(version),
  );
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      const addr = server.address();
      resolve({
        port: typeof addr === 'object' && addr ? addr.port : port,
        close: () =>
          new Promise<void>((done) => {
            server.close(() => done());
            server.closeAllConnections();
          }),
      });
    });
  });
}
