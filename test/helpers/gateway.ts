import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Gateway } from '../../src/runtime/gateway.ts';
import { freePort } from './net.ts';
import { clusterTls, fillConfig } from './config-text.ts';
import type { TestPki } from './pki.ts';
import { testTempDir } from './tmp.ts';

// Starts a real gateway in this process on free loopback ports, from YAML text.
// `{{https}}`, `{{http}}` and `{{admin}}` in the text are replaced by free ports.

export interface TestGateway {
  gw: Gateway;
  configFile: string;
  httpsPort: number;
  httpPort: number;
  adminPort: number;
  /** Rewrites the config file (same placeholders) — the watcher or reload() picks it up. */
  rewrite(yaml: string): void;
  close(): Promise<void>;
}

export async function startGateway(yaml: string): Promise<TestGateway> {
  const [httpsPort, httpPort, adminPort] = await Promise.all([freePort(), freePort(), freePort()]);
  const dir = testTempDir('gatehouse-gw-');
  const configFile = join(dir, 'gateway.yaml');
  const fill = (t: string) => fillConfig(t, { https: httpsPort, http: httpPort, admin: adminPort });
  writeFileSync(configFile, fill(yaml));
  const gw = new Gateway({ configFile });
  await gw.start();
  return {
    gw,
    configFile,
    httpsPort,
    httpPort,
    adminPort,
    rewrite: (t) => writeFileSync(configFile, fill(t)),
    close: () => gw.stop(0, 2000),
  };
}

/**
 * The admin, drain and one-TLS-listener head every test config starts with (edge certificate for
 * localhost, ports as {{https}}/{{admin}} placeholders). Listener keys may follow it (e.g. limits).
 * `edge` names other edge certificate files than the PKI's (a rotation test's own copies).
 */
export function gatewayPreamble(pki: TestPki, edge: { certFile: string; keyFile: string } = { certFile: pki.file('edge.crt'), keyFile: pki.file('edge.key') }): string {
  return `admin: { address: "127.0.0.1:{{admin}}" }
drain: { delay: 0s, timeout: 2s }
listeners:
  - name: public
    address: "127.0.0.1:{{https}}"
    tls:
      certificates:
        - { certFile: ${edge.certFile}, keyFile: ${edge.keyFile}, serverNames: ["localhost"] }`;
}

/** A minimal single-listener config routing everything to `cluster` at `endpoint`. */
export function basicConfig(pki: TestPki, o: { endpoint: string; tlsCluster?: boolean; extraListener?: string; limits?: string; routes?: string; clusters?: string } ): string {
  return `
${gatewayPreamble(pki)}
      minVersion: TLSv1.2
      http2: true
${o.limits ?? ''}
${o.extraListener ?? ''}
virtualHosts:
  - name: main
    domains: ["*"]
    routes:
${o.routes ?? ''}
      - { name: ping, match: { path: /ping }, directResponse: { status: 200, body: "pong" } }
      - { name: all, match: { prefix: / }, route: { cluster: backend, timeout: 5s } }
clusters:
  - name: backend
    discovery: { type: static, endpoints: ["${o.endpoint}"] }
    connectTimeout: 1s${o.tlsCluster ? clusterTls(pki) : ''}
${o.clusters ?? ''}
`;
}
