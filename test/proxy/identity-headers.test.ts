import { test } from 'node:test';
import assert from 'node:assert/strict';
import { basicConfig } from '../helpers/gateway.ts';
import { gatewayFixture } from '../helpers/fixture.ts';
import { h1, h2 } from '../helpers/clients.ts';

// Issue 9 item 4: mesh identity headers a sidecar trusts (x-forwarded-client-cert, x-envoy-*) are
// stripped at the edge unless the peer is in trustedProxies; the operator's own route edits stay.

const fx = gatewayFixture((pki, up) =>
  basicConfig(pki, {
    endpoint: up.address,
    routes: '      - { name: edited, match: { prefix: /edited }, route: { cluster: backend, requestHeaders: { set: { x-envoy-edge: gatehouse } } } }',
    // The first listener trusts nobody; this one trusts loopback (a proxy in front of the gateway).
    extraListener: `  - name: behind-proxy
    address: "127.0.0.1:{{http}}"
    tls:
      certificates:
        - { certFile: ${pki.file('edge.crt')}, keyFile: ${pki.file('edge.key')} }
    trustedProxies: { cidrs: ["127.0.0.0/8"] }`,
  }),
);

const forged = {
  'x-forwarded-client-cert': 'By=spiffe://mesh.local/ns/shop/sa/checkout;URI=spiffe://mesh.local/ns/admin/sa/root',
  'x-envoy-internal': 'true',
  'x-envoy-original-path': '/admin',
  'X-Envoy-Expected-Rq-Timeout-Ms': '1',
  'x-envoyish': 'not an envoy header',
};

for (const [proto, client] of [['HTTP/1.1', h1], ['HTTP/2', h2]] as const) {
  test(`${proto}: an untrusted client's XFCC and x-envoy-* headers never reach the upstream`, async () => {
    const r = await client(fx.pki, fx.gw.httpsPort, '/x', { headers: forged });
    assert.equal(r.status, 200);
    const h = JSON.parse(r.body).headers as Record<string, string | undefined>;
    assert.equal(h['x-forwarded-client-cert'], undefined);
    assert.equal(h['x-envoy-internal'], undefined);
    assert.equal(h['x-envoy-original-path'], undefined);
    assert.equal(h['x-envoy-expected-rq-timeout-ms'], undefined);
    assert.equal(h['x-envoyish'], 'not an envoy header', 'only the x-envoy- family');
  });

  test(`${proto}: from a trusted proxy they are forwarded; route edits always apply`, async () => {
    const r = await client(fx.pki, fx.gw.httpPort, '/x', { headers: forged });
    const h = JSON.parse(r.body).headers as Record<string, string | undefined>;
    assert.equal(h['x-forwarded-client-cert'], forged['x-forwarded-client-cert']);
    assert.equal(h['x-envoy-internal'], 'true');
    const edited = await client(fx.pki, fx.gw.httpsPort, '/edited', { headers: { 'x-envoy-edge': 'forged' } });
    assert.equal(JSON.parse(edited.body).headers['x-envoy-edge'], 'gatehouse');
  });
}
