import https from 'node:https';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Pool, type Dispatcher } from 'undici';
import { argJson, emit, exitWithParent } from './common.ts';

// The ceiling a Node gateway is measured against (issue 15): a raw node `https` server that forwards
// every request to one upstream through an undici Pool with `dispatch()`, streaming both ways. It
// does none of the gateway's work (no routing, no header policy, no limits, no log) — only TLS in,
// mutual TLS out (CA + server name verified), and hop-by-hop headers dropped.

interface Args {
  certDir: string;
  upstream: string; // https://127.0.0.1:P
}

const args = argJson<Args>();
const file = (name: string) => readFileSync(join(args.certDir, name));

const pool = new Pool(args.upstream, {
  connections: 128,
  pipelining: 1,
  connect: {
    ca: file('ca.crt'),
    cert: file('gatehouse.crt'),
    key: file('gatehouse.key'),
    servername: 'localhost',
    rejectUnauthorized: true,
  },
});

const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'te', 'trailer']);

class Relay implements Dispatcher.DispatchHandler {
  constructor(private readonly res: import('node:http').ServerResponse) {}
  onRequestStart(): void {}
  onResponseStart(c: Dispatcher.DispatchController, status: number, headers: Record<string, string | string[] | undefined>): void {
    for (const h of HOP_BY_HOP) delete headers[h];
    this.res.writeHead(status, headers as Record<string, string | string[]>);
    void c;
  }
  onResponseData(c: Dispatcher.DispatchController, chunk: Buffer): void {
    if (!this.res.write(chunk)) {
      c.pause();
      this.res.once('drain', () => c.resume());
    }
  }
  onResponseEnd(): void {
    this.res.end();
  }
  onResponseError(_c: Dispatcher.DispatchController, _err: Error): void {
    if (this.res.headersSent) this.res.destroy();
    else {
      this.res.writeHead(502);
      this.res.end();
    }
  }
}

const server = https.createServer({ key: file('edge.key'), cert: file('edge.crt'), ALPNProtocols: ['http/1.1'] }, (req, res) => {
  const headers: string[] = [];
  const raw = req.rawHeaders;
  for (let i = 0; i < raw.length; i += 2) if (!HOP_BY_HOP.has(raw[i]!.toLowerCase())) headers.push(raw[i]!, raw[i + 1]!);
  const hasBody = req.headers['content-length'] !== undefined || req.headers['transfer-encoding'] !== undefined;
  pool.dispatch(
    { path: req.url!, method: req.method as Dispatcher.HttpMethod, headers, body: hasBody ? req : null },
    new Relay(res),
  );
});

exitWithParent(() => {
  server.close();
  void pool.close();
});
server.listen(0, '127.0.0.1', () => {
  const addr = server.address();
  emit('listening', { port: typeof addr === 'object' && addr ? addr.port : 0 });
});
