import { test } from 'node:test';
import assert from 'node:assert/strict';
import { basicConfig } from '../helpers/gateway.ts';
import { gatewayFixture } from '../helpers/fixture.ts';
import { h1, h2 } from '../helpers/clients.ts';

// Issue 9 item 2: header names with underscores (`x_auth_sub`), which many upstream stacks read as
// `x-auth-sub`, are refused with 400 by default and dropped before routing with
// `limits.headersWithUnderscores: drop`, over HTTP/1.1 and HTTP/2.

const fx = gatewayFixture((pki, up) =>
  basicConfig(pki, {
    endpoint: up.address,
    routes: '      - { name: sees-underscore, match: { prefix: /, headers: [{ name: x_debug, present: true }] }, directResponse: { status: 418, body: "matched" } }',
    extraListener: `  - name: dropping
    address: "127.0.0.1:{{http}}"
    tls:
      certificates:
        - { certFile: ${pki.file('edge.crt')}, keyFile: ${pki.file('edge.key')} }
    limits: { headersWithUnderscores: drop }`,
  }),
);

const spoofs: Array<Record<string, string>> = [{ x_auth_sub: 'evil' }, { X_Auth_Sub: 'evil' }, { 'x-auth_email': 'evil@x' }];

for (const [proto, client] of [['HTTP/1.1', h1], ['HTTP/2', h2]] as const) {
  test(`${proto}: a header name with an underscore is refused with 400 by default`, async () => {
    const before = fx.up.seen.length;
    for (const headers of spoofs) {
      const r = await client(fx.pki, fx.gw.httpsPort, '/x', { headers });
      assert.equal(r.status, 400, JSON.stringify(headers));
      assert.equal(JSON.parse(r.body).error, 'bad_request');
      if (proto === 'HTTP/1.1') assert.equal(r.headers.connection, 'close');
    }
    assert.equal(fx.up.seen.length, before, 'nothing reached the upstream');
    assert.equal((await client(fx.pki, fx.gw.httpsPort, '/x', { headers: { 'x-auth-sub-ok': 'fine' } })).status, 200);
  });

  test(`${proto}: with drop, those headers are removed before routing and never forwarded`, async () => {
    for (const headers of spoofs) {
      const r = await client(fx.pki, fx.gw.httpPort, '/x', { headers: { ...headers, x_debug: '1', 'x-kept': 'yes' } });
      assert.equal(r.status, 200, 'the x_debug matcher did not see the dropped header');
      const seen = JSON.parse(r.body).headers as Record<string, string>;
      for (const name of Object.keys(seen)) assert.ok(!name.includes('_'), `forwarded ${name}`);
      assert.equal(seen['x-kept'], 'yes');
    }
  });
}
