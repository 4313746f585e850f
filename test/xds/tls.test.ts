import assert from 'node:assert/strict';
import { copyFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { gatewayPreamble, startGateway, type TestGateway } from '../helpers/gateway.ts';
import { eventually } from '../helpers/net.ts';
import { issue, testPki, type TestPki } from '../helpers/pki.ts';
import { h1 } from '../helpers/clients.ts';
import { startXdsServer, type TestXdsServer } from '../helpers/xds-server.ts';
import { RDS, routeConfig } from '../helpers/xds-resources.ts';
import { testTempDir } from '../helpers/tmp.ts';

// Mutual TLS to the management server: the server verifies gatehouse's client certificate, gatehouse
// verifies the server's; the files are watched like every other certificate, and a rotated client
// certificate reconnects with the new one.

describe('xDS over mutual TLS', () => {
  let pki: TestPki;
  let xds: TestXdsServer;
  let gw: TestGateway;
  let dir: string;

  before(async () => {
    pki = await testPki();
    dir = testTempDir('gatehouse-xds-tls-');
    copyFileSync(pki.file('gatehouse.crt'), join(dir, 'client.crt'));
    copyFileSync(pki.file('gatehouse.key'), join(dir, 'client.key'));
    xds = await startXdsServer({ tls: { cert: pki.read('upstream.crt'), key: pki.read('upstream.key'), ca: pki.read('ca.crt'), requireClientCert: true } });
    xds.set(RDS, [routeConfig('edge', [{ match: { prefix: '/' }, direct_response: { status: 200, body: { inline_string: 'over mtls' } } }])]);
    gw = await startGateway(`${gatewayPreamble(pki)}
xds:
  server: "127.0.0.1:${xds.port}"
  tls: { caFile: ${pki.file('ca.crt')}, certFile: ${join(dir, 'client.crt')}, keyFile: ${join(dir, 'client.key')}, serverName: localhost }
  node: { id: gatehouse-test, cluster: edge }
  routeConfigs: [edge]
`);
  });

  after(async () => {
    await gw?.close();
    await xds?.close();
  });

  it('subscribes over mutual TLS', async () => {
    await eventually(() => gw.gw.ready, 'ready');
    assert.equal((await h1(pki, gw.httpsPort, '/')).body, 'over mtls');
    for (const f of [pki.file('ca.crt'), join(dir, 'client.crt'), join(dir, 'client.key')]) assert.ok(gw.gw.current!.files.includes(f), `${f} is watched`);
  });

  it('a rotated client certificate reconnects with it', async () => {
    const streams = new Set(xds.requests.map((r) => r.stream));
    const rotated = await issue(pki, 'rotated-client', { usage: 'client', spiffe: 'spiffe://mesh.local/ns/edge/sa/gatehouse', outDir: dir });
    copyFileSync(rotated.cert, join(dir, 'client.crt'));
    copyFileSync(rotated.key, join(dir, 'client.key'));
    await eventually(() => xds.requests.some((r) => !streams.has(r.stream)), 'a new stream after the rotation', 20_000);
    await eventually(() => xds.requests.some((r) => !streams.has(r.stream) && r.type_url === RDS && r.response_nonce !== ''), 'ACKed on the new stream');
    assert.equal((await h1(pki, gw.httpsPort, '/')).body, 'over mtls');
  });
});
