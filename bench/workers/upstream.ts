import http from 'node:http';
import https from 'node:https';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { argJson, emit, exitWithParent } from './common.ts';

// The fast upstream: answers every request with the same small body (64 bytes by default).
// Plain HTTP/1.1, or HTTPS requiring a client certificate from the dev CA (the mTLS variant).

interface Args {
  /** null: plain HTTP. */
  certDir: string | null;
  bodyBytes?: number;
}

const args = argJson<Args>();
const body = Buffer.alloc(args.bodyBytes ?? 64, 'x');
body[body.length - 1] = 0x0a;
const headers = { 'content-type': 'text/plain', 'content-length': String(body.length) };

function handler(req: http.IncomingMessage, res: http.ServerResponse): void {
  // Consume any request body before answering (keeps the connection reusable).
  if (req.headers['content-length'] !== undefined || req.headers['transfer-encoding'] !== undefined) {
    req.resume();
    req.once('end', () => {
      res.writeHead(200, headers);
      res.end(body);
    });
    return;
  }
  res.writeHead(200, headers);
  res.end(body);
}

const server = args.certDir
  ? https.createServer(
      {
        key: readFileSync(join(args.certDir, 'upstream.key')),
        cert: readFileSync(join(args.certDir, 'upstream.crt')),
        ca: readFileSync(join(args.certDir, 'ca.crt')),
        requestCert: true,
        rejectUnauthorized: true,
      },
      handler,
    )
  : http.createServer(handler);

// Idle keep-alive connections stay open across the pauses between measurements.
server.keepAliveTimeout = 120_000;
server.headersTimeout = 130_000;
server.requestTimeout = 0;

exitWithParent(() => server.close());
server.listen(0, '127.0.0.1', () => {
  const addr = server.address();
  emit('listening', { port: typeof addr === 'object' && addr ? addr.port : 0 });
});
