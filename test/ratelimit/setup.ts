import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TestPki } from '../helpers/pki.ts';
import { h1, type Reply } from '../helpers/clients.ts';
import { testTempDir } from '../helpers/tmp.ts';

// Config and request helpers shared by the rate-limit tests.

export interface LimitConfig {
  /** YAML of the `rateLimit:` block body (indented two spaces). */
  rateLimit: string;
  /** `rateLimits` of the virtual host, as YAML flow (e.g. `[per-ip]`); omitted when undefined. */
  hostLimits?: string;
  /** Extra routes (YAML list items, indented six spaces), before the defaults. */
  routes?: string;
  upstream?: string;
  /** YAML for the listener (indented four spaces), e.g. trustedProxies. */
  listener?: string;
  /** Fixed ports instead of placeholders (for child processes). */
  ports?: { https: number; admin: number };
}

export function limitConfig(pki: TestPki, o: LimitConfig): string {
  const https = o.ports ? String(o.ports.https) : '{{https}}';
  const admin = o.ports ? String(o.ports.admin) : '{{admin}}';
  return `
admin: { address: "127.0.0.1:${admin}" }
drain: { delay: 0s, timeout: 2s }
listeners:
  - name: public
    address: "127.0.0.1:${https}"
    tls:
      certificates:
        - { certFile: ${pki.file('edge.crt')}, keyFile: ${pki.file('edge.key')}, serverNames: ["localhost"] }
${o.listener ?? ''}
rateLimit:
${o.rateLimit}
virtualHosts:
  - name: main
    domains: ["*"]
${o.hostLimits !== undefined ? `    rateLimits: ${o.hostLimits}` : ''}
    routes:
${o.routes ?? ''}
      - { name: ping, match: { path: /ping }, directResponse: { status: 200, body: "pong" } }
      - { name: open, match: { prefix: /open }, rateLimits: [], directResponse: { status: 200, body: "open" } }
      - { name: all, match: { prefix: / }, route: { cluster: backend, timeout: 5s } }
clusters:
  - name: backend
    discovery: { type: static, endpoints: ["${o.upstream ?? '127.0.0.1:9'}"] }
    connectTimeout: 1s
`;
}

export function writeConfig(yaml: string): string {
  const dir = testTempDir('gatehouse-rl-');
  const file = join(dir, 'gateway.yaml');
  writeFileSync(file, yaml);
  return file;
}

/** `n` sequential requests (each on a new connection), returning every reply. */
export async function burst(pki: TestPki, port: number, path: string, n: number, headers: Record<string, string> = {}): Promise<Reply[]> {
  const out: Reply[] = [];
  for (let i = 0; i < n; i++) out.push(await h1(pki, port, path, { headers }));
  return out;
}

export function statuses(replies: Reply[]): number[] {
  return replies.map((r) => r.status);
}

export function count(replies: Reply[], status: number): number {
  return replies.filter((r) => r.status === status).length;
}
