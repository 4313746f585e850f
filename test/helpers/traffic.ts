import { gatewayPreamble } from './gateway.ts';
import { Agent, request as httpsRequest } from 'node:https';
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

export interface SteadyLoad {
  /** Every answer so far: status and the `x-upstream-id` that served it (undefined for the gateway's own answers). */
  readonly results: Array<{ status: number; upstream: string | undefined }>;
  /** Transport errors (a reset, a refused connection): a request that got no answer at all. */
  readonly errors: string[];
  stop(): Promise<void>;
}

/**
 * `workers` keep-alive HTTP/1.1 clients sending GET `path` back to back until stop(): traffic that
 * runs while a test reloads, pushes xDS updates or restarts a peer. Collects every outcome.
 */
export function steadyLoad(pki: TestPki, port: number, path: string, o: { workers?: number; headers?: Record<string, string> } = {}): SteadyLoad {
  const agent = new Agent({ keepAlive: true, maxSockets: o.workers ?? 4 });
  const results: SteadyLoad['results'] = [];
  const errors: string[] = [];
  let running = true;
  const worker = async () => {
    // Bounded: a load left running by a failed test must not spin forever against a closed port.
    while (running && errors.length < 1000) {
      try {
        const r = await keepAliveRequest(pki, agent, port, path, { headers: o.headers ?? {} });
        const id = r.headers['x-upstream-id'];
        results.push({ status: r.status, upstream: Array.isArray(id) ? id[0] : id });
      } catch (err) {
        errors.push((err as Error).message);
      }
    }
  };
  const all = Array.from({ length: o.workers ?? 4 }, worker);
  return {
    results,
    errors,
    stop: async () => {
      if (!running) return;
      running = false;
      await Promise.all(all);
      agent.destroy();
    },
  };
}
