import { gatewayPreamble } from './gateway.ts';
import { request as httpsRequest } from 'node:https';
import type http from 'node:http';
import { startUpstream, type TestUpstream } from './upstream.ts';
import type { TestPki } from './pki.ts';

// Fixtures for the routing/traffic tests: upstreams that say who they are, and a gateway config
// with one TLS listener and the routes/clusters a test gives.

/** A plain-HTTP upstream whose JSON echo carries `id` (and an `x-upstream-id` response header). */
export function idUpstream(id: string, handler?: (req: http.IncomingMessage, res: http.ServerResponse, n: number) => boolean): Promise<TestUpstream> {
  let n = 0;
  return startUpstream({
    handler: (req, res) => {
      n++;
      if (handler && handler(req, res, n)) return; // the test answered
      let bytes = 0;
      req.on('data', (c: Buffer) => (bytes += c.length));
      req.on('end', () => {
        res.writeHead(200, { 'content-type': 'application/json', 'x-upstream-id': id, 'x-upstream-secret': 'hide-me', 'x-multi': 'one' });
        res.end(JSON.stringify({ id, method: req.method, url: req.url, headers: req.headers, bodyBytes: bytes }));
      });
    },
  });
}

export function trafficConfig(pki: TestPki, o: { routes: string; clusters: string }): string {
  return `
${gatewayPreamble(pki)}
virtualHosts:
  - name: main
    domains: ["*"]
    routes:
${o.routes}
clusters:
${o.clusters}
`;
}

/** `- name: N` + static endpoints, indented for the clusters list. */
export function staticCluster(name: string, endpoints: string[], extra = ''): string {
  return `  - name: ${name}
    discovery: { type: static, endpoints: [${endpoints.map((e) => `"${e}"`).join(', ')}] }
    connectTimeout: 1s
${extra}`;
}

/** HTTP/1.1 over TLS on a keep-alive agent (many requests without a handshake each). */
export function keepAliveRequest(
  pki: TestPki,
  agent: import('node:https').Agent,
  port: number,
  path: string,
  o: { method?: string; headers?: Record<string, string>; body?: string | Buffer } = {},
): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(
      { host: '127.0.0.1', port, path, method: o.method ?? 'GET', headers: { host: `localhost:${port}`, ...o.headers }, ca: pki.read('ca.crt'), servername: 'localhost', agent },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString() }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(o.body);
  });
}
