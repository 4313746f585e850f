import { test } from 'node:test';
import assert from 'node:assert/strict';
import tls from 'node:tls';
import { basicConfig } from '../helpers/gateway.ts';
import { gatewayFixture } from '../helpers/fixture.ts';
import { h2 } from '../helpers/clients.ts';

// Issue 9 item 6 over real sockets: a raw backslash is a path separator before routing and authz,
// so `/public\..\admin/users` is `/admin/users` for the deny rule, and what was matched is what
// the upstream receives.

const fx = gatewayFixture((pki, up) =>
  basicConfig(pki, {
    endpoint: up.address,
    routes: '      - { name: guarded, match: { prefix: / }, authz: { deny: [{ paths: [/admin] }] }, route: { cluster: backend } }',
  }),
);

/** HTTP/1.1 with the request target written byte for byte (clients would escape or refuse it). */
function rawH1(target: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const s = tls.connect({ host: '127.0.0.1', port: fx.gw.httpsPort, ca: fx.pki.read('ca.crt'), servername: 'localhost', ALPNProtocols: ['http/1.1'] }, () => {
      s.write(`GET ${target} HTTP/1.1\r\nhost: localhost\r\nconnection: close\r\n\r\n`);
    });
    let out = '';
    s.on('data', (d) => (out += d));
    s.on('error', reject);
    s.on('close', () => {
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(out)?.[1] ?? 0);
      resolve({ status, body: out.slice(out.indexOf('\r\n\r\n') + 4) });
    });
  });
}

test('HTTP/1.1: a backslash path is normalised before authz (403), never forwarded as is', async () => {
  const before = fx.up.seen.length;
  for (const target of ['/public\\..\\admin/users', '/public/..\\admin', '/x/..\\admin/users']) {
    const r = await rawH1(target);
    assert.equal(r.status, 403, target);
  }
  assert.equal(fx.up.seen.length, before, 'nothing reached the upstream');
  const ok = await rawH1('/public\\docs\\a.txt?q=\\1');
  assert.equal(ok.status, 200);
  assert.equal(fx.up.seen.at(-1)!.url, '/public/docs/a.txt?q=\\1', 'the normalised path is forwarded (the query is untouched)');
});

test('HTTP/2: the same', async () => {
  const r = await h2(fx.pki, fx.gw.httpsPort, '/public\\..\\admin/users');
  assert.equal(r.status, 403);
  const ok = await h2(fx.pki, fx.gw.httpsPort, '/public\\docs');
  assert.equal(ok.status, 200);
  assert.equal(JSON.parse(ok.body).url, '/public/docs');
});
