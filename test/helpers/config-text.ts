import type { TestPki } from './pki.ts';

// Test configs are YAML text with {{https}}, {{http}} and {{admin}} placeholders for free ports.
// Unless a test asks for an access log, the gateway it starts writes none: the access log is tested
// where it is the subject, and npm test's output stays readable.

export interface ConfigPorts {
  https: number;
  http: number;
  admin: number;
}

export function fillConfig(yaml: string, ports: ConfigPorts): string {
  const text = yaml
    .replaceAll('{{https}}', String(ports.https))
    .replaceAll('{{http}}', String(ports.http))
    .replaceAll('{{admin}}', String(ports.admin));
  return /^accessLog\s*:/m.test(text) ? text : `accessLog: { path: off }\n${text}`;
}

/**
 * A cluster's `tls:` block (indented for a clusters list item) for mutual TLS to a test upstream:
 * gatehouse's client certificate (default: the PKI's gatehouse.crt/.key), the test CA, SNI localhost.
 */
export function clusterTls(pki: TestPki, client: { certFile: string; keyFile: string } = { certFile: pki.file('gatehouse.crt'), keyFile: pki.file('gatehouse.key') }): string {
  return `
    tls:
      certFile: ${client.certFile}
      keyFile: ${client.keyFile}
      caFile: ${pki.file('ca.crt')}
      serverName: localhost`;
}
