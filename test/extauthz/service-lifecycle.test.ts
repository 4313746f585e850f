import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as grpc from '@grpc/grpc-js';
import { otherPki, testPki, type TestPki } from '../helpers/pki.ts';
import { startUpstream, type TestUpstream } from '../helpers/upstream.ts';
import { startGateway, type TestGateway, gatewayPreamble } from '../helpers/gateway.ts';
import { h1 } from '../helpers/clients.ts';
import { eventually } from '../helpers/net.ts';
import { startGrpcAuthz, type TestGrpcAuthz } from '../helpers/ext-authz.ts';
import type { AuthzService } from '../../src/filters/ext-authz/service.ts';

// The life of an ext_authz service across time: mutual TLS to it, a service that goes away and comes
// back (the channel reconnects without a reload), and reloads (an unchanged service keeps its channel,
// a replaced one is closed once the checks it may still run are over).

let pki: TestPki;
let stranger: TestPki;
let up: TestUpstream;
let mtls: TestGrpcAuthz;
let plain: TestGrpcAuthz;
let other: TestGrpcAuthz;
let gw: TestGateway;

function config(plainAddress: string): string {
  return `
${gatewayPreamble(pki)}
virtualHosts:
  - name: main
    domains: ["*"]
    routes:
      - name: mtls
        match: { prefix: /mtls }
        extAuthz:
          grpc:
            address: "${mtls.address}"
            tls: { caFile: ${pki.file('ca.crt')}, certFile: ${pki.file('gatehouse.crt')}, keyFile: ${pki.file('gatehouse.key')}, serverName: localhost }
          timeout: 2s
        route: { cluster: backend }
      - name: wrong-ca
        match: { prefix: /wrong-ca }
        extAuthz:
          grpc:
            address: "${mtls.address}"
            tls: { caFile: ${stranger.file('ca.crt')}, certFile: ${pki.file('gatehouse.crt')}, keyFile: ${pki.file('gatehouse.key')}, serverName: localhost }
          timeout: 2s
        route: { cluster: backend }
      - { name: plain, match: { prefix: / }, extAuthz: { grpc: { address: "${plainAddress}" }, timeout: 300ms }, route: { cluster: backend } }
clusters:
  - name: backend
    discovery: { type: static, endpoints: ["${up.address}"] }
`;
}

before(async () => {
  pki = await testPki();
  stranger = await otherPki();
  up = await startUpstream();
  [mtls, plain, other] = await Promise.all([startGrpcAuthz({ tls: pki }), startGrpcAuthz(), startGrpcAuthz()]);
  gw = await startGateway(config(plain.address));
});

after(async () => {
  await gw.close();
  await Promise.all([mtls.stop(), plain.stop(), other.stop(), up.close()]);
});

function serviceAt(target: string): AuthzService | undefined {
  return [...gw.gw.current!.extAuthz.services.values()].find((s) => s.target === target);
}

/** The grpc-js channel state of a service (a test peeks at the client it owns). */
function channelState(s: AuthzService): grpc.connectivityState {
  return (s as unknown as { client: grpc.Client }).client.getChannel().getConnectivityState(false);
}

test('mutual TLS to the service: the check is made over TLS with the gateway\'s client certificate', async () => {
  const before = mtls.calls.length;
  const r = await h1(pki, gw.httpsPort, '/mtls/x');
  assert.equal(r.status, 200);
  assert.equal(mtls.calls.length, before + 1);
});

test('a service certificate the configured CA did not sign is refused: 403 ext_authz_error', async () => {
  const before = mtls.calls.length;
  const r = await h1(pki, gw.httpsPort, '/wrong-ca/x');
  assert.equal(r.status, 403);
  assert.equal(JSON.parse(r.body).error, 'ext_authz_error');
  assert.equal(mtls.calls.length, before);
});

test('a service that goes away and comes back on the same address is used again without a reload', async () => {
  assert.equal((await h1(pki, gw.httpsPort, '/a')).status, 200);
  const port = plain.port;
  await plain.stop();
  const down = await h1(pki, gw.httpsPort, '/a');
  assert.equal(down.status, 403);
  assert.equal(JSON.parse(down.body).error, 'ext_authz_error');
  plain = await startGrpcAuthz({ port });
  await eventually(async () => (await h1(pki, gw.httpsPort, '/a')).status === 200, 'the check succeeds again');
});

test('reload: an unchanged service keeps its channel; a replaced one closes after its checks could have finished', async () => {
  const keptMtls = serviceAt(mtls.address)!;
  const old = serviceAt(plain.address)!;
  assert.ok(keptMtls && old);
  gw.rewrite(config(other.address));
  assert.equal((await gw.gw.reload('test')).ok, true);
  assert.equal(serviceAt(mtls.address), keptMtls, 'the mTLS service (same config and files) is reused');
  assert.equal(serviceAt(plain.address), undefined);
  const before = other.calls.length;
  assert.equal((await h1(pki, gw.httpsPort, '/b')).status, 200);
  assert.equal(other.calls.length, before + 1, 'the new service answers');
  await eventually(() => channelState(old) === grpc.connectivityState.SHUTDOWN, 'the retired channel is closed');
  assert.notEqual(channelState(keptMtls), grpc.connectivityState.SHUTDOWN);
});
