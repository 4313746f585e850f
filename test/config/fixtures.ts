/** Shared fixtures for the config tests: placeholder certificate files in a temp dir, and a good base config. */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import { testTempDir } from '../helpers/tmp.ts';

export const dir = testTempDir('gatehouse-config-test-');

/** The content does not matter to the config layer: it checks existence and readability only. */
function file(name: string): string {
  const p = path.join(dir, name);
  writeFileSync(p, `placeholder ${name}\n`);
  return p;
}

export const F = {
  edgeCrt: file('edge.crt'),
  edgeKey: file('edge.key'),
  clientCrt: file('gatehouse.crt'),
  clientKey: file('gatehouse.key'),
  ca: file('ca.crt'),
  jwksCa: file('jwks-ca.crt'),
  signingKey: file('internal-token.key'),
  missing: path.join(dir, 'does-not-exist.crt'),
};

/** A small config using only built features; every test row mutates a fresh copy. */
export function baseConfig(): any {
  return {
    listeners: [
      { name: 'public', address: '127.0.0.1:8443', tls: { certificates: [{ certFile: F.edgeCrt, keyFile: F.edgeKey }] } },
      { name: 'plain', address: '127.0.0.1:8080', redirectToHttps: true },
    ],
    virtualHosts: [
      {
        name: 'api',
        domains: ['api.example.com', '*'],
        routes: [
          { name: 'r0', match: { prefix: '/' }, route: { cluster: 'c0' } },
          { name: 'ping', match: { path: '/ping' }, directResponse: { status: 200, body: 'pong\n' } },
        ],
      },
    ],
    clusters: [
      { name: 'c0', discovery: { type: 'static', endpoints: ['127.0.0.1:9443'] } },
      {
        name: 'c1',
        discovery: { type: 'static', endpoints: ['127.0.0.1:9444', '[::1]:9444'] },
        tls: { certFile: F.clientCrt, keyFile: F.clientKey, caFile: F.ca, serverName: 'echo.mesh.local' },
      },
    ],
  };
}

export function toYaml(cfg: unknown): string {
  return YAML.stringify(cfg);
}
