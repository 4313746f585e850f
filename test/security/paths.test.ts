import { test } from 'node:test';
import assert from 'node:assert/strict';
import http2 from 'node:http2';
import { gatewayPreamble } from '../helpers/gateway.ts';
import { gatewayFixture } from '../helpers/fixture.ts';
import { rawHttp1 } from '../helpers/raw-http1.ts';

// Path tricks against authorization and routing, over HTTP/1.1 (exact bytes) and HTTP/2: `/admin` is
// denied to everyone by an authz rule; everything else goes to the upstream. A trick must either land
// on `/admin` (403) or be refused (400), and the upstream must receive exactly the path that was
// matched. Then which of Host, SNI and :authority picks the virtual host.

const fx = gatewayFixture((pki, up) => `${gatewayPreamble(pki)}
virtualHosts:
  - name: alpha
    domains: ["alpha.test"]
    routes:
      - { name: alpha, match: { prefix: / }, directResponse: { status: 200, body: "alpha" } }
  - name: beta
    domains: ["beta.test"]
    routes:
      - { name: beta, match: { prefix: / }, directResponse: { status: 200, body: "beta" } }
  - name: main
    domains: ["*"]
    routes:
      - name: admin
        match: { prefix: /admin }
        authz: { deny: [{ sourceCidrs: ["127.0.0.0/8", "::1/128"] }] }
        route: { cluster: backend }
      - { name: all, match: { prefix: / }, route: { cluster: backend } }
clusters:
  - name: backend
    discovery: { type: static, endpoints: ["${up.address}"] }
`);

async function h1Status(target: string, host = 'localhost', method = 'GET'): Promise<{ status: number; body: string }> {
  const r = await rawHttp1(fx.pki, fx.gw.httpsPort, `${method} ${target} HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`);
  return { status: r.statuses[0] ?? 0, body: r.text.slice(r.text.indexOf('\r\n\r\n') + 4) };
}

async function h2Request(headers: http2.OutgoingHttpHeaders, servername = 'localhost'): Promise<{ status: number; body: string }> {
  const session = http2.connect(`https://127.0.0.1:${fx.gw.httpsPort}`, { ca: fx.pki.read('ca.crt'), servername, checkServerIdentity: () => undefined });
  try {
    return await new Promise((resolve, reject) => {
      session.on('error', reject);
      const st = session.request({ ':authority': 'localhost', ...headers });
      let status = 0;
      let body = '';
      st.on('response', (h) => (status = Number(h[':status'])));
      st.setEncoding('utf8');
      st.on('data', (c: string) => (body += c));
      st.on('end', () => resolve({ status, body }));
      st.on('error', reject);
      st.end();
    });
  } finally {
    session.close();
  }
}

/** [what the client sends, 403 (it is /admin) or 400 (refused)] — none may reach the upstream. */
const blocked: Array<[string, number]> = [
  ['/admin/users', 403],
  ['/public/../admin/users', 403],
  ['/public/%2e%2e/admin/users', 403],
  ['/public/%2E%2e/admin/users', 403],
  ['/public/.%2e/admin/users', 403],
  ['//admin/users', 403],
  ['/./admin/users', 403],
  ['/%61dmin/users', 403], // an encoded unreserved character is decoded before matching
  ['/admin;jsessionid=x/users', 403], // ;params are part of the segment: prefix /admin still matches
  ['/public\\..\\admin/users', 403], // a raw backslash is a separator (issue 9)
  ['/public/..;/admin/users', 400], // Tomcat would resolve `..;` to `..`
  ['/public/.;x/../../admin', 400],
  ['/public/%C0%AE%C0%AE/admin/users', 400], // overlong UTF-8 for ".."
  ['/public/%E0%80%AE%E0%80%AE/admin/users', 400], // 3-byte overlong "."
  ['/public/%00/admin', 400],
  ['/public/%2/admin', 400],
  ['https://localhost/admin/users', 400], // absolute-form: refused (documented)
  ['*', 400], // asterisk-form
];

for (const [target, status] of blocked) {
  test(`HTTP/1.1 ${target} → ${status}, never reaches the upstream`, async () => {
    const before = fx.up.seen.length;
    const method = target === '*' ? 'OPTIONS' : 'GET';
    assert.equal((await h1Status(target, 'localhost', method)).status, status);
    assert.equal(fx.up.seen.length, before, `upstream saw ${fx.up.seen.slice(before).map((s) => s.url)}`);
  });
}

test('HTTP/2: the same tricks land on /admin (403) or are refused (400), none reaches the upstream', async () => {
  const before = fx.up.seen.length;
  for (const [target, status] of blocked) {
    if (target === '*' || target.startsWith('https:')) continue; // not a valid :path for a GET
    assert.equal((await h2Request({ ':path': target })).status, status, target);
  }
  assert.equal(fx.up.seen.length, before);
});

/** [what the client sends, what the upstream receives]: what was matched is what is forwarded. */
const forwarded: Array<[string, string]> = [
  ['/public%2F..%2Fadmin', '/public%2F..%2Fadmin'], // an encoded slash is opaque, never a separator
  ['/public%2f..%2fadmin', '/public%2F..%2Fadmin'],
  ['/public%5C..%5Cadmin', '/public%5C..%5Cadmin'], // an encoded backslash likewise
  ['/a/./b/../c//d?x=1', '/a/c/d?x=1'],
  ['/caf%C3%A9', '/caf%C3%A9'], // valid UTF-8 escapes pass
  ['/a;b=1/c', '/a;b=1/c'],
];

for (const [sent, received] of forwarded) {
  test(`HTTP/1.1 ${sent} reaches the upstream as ${received}`, async () => {
    assert.equal((await h1Status(sent)).status, 200);
    assert.equal(fx.up.seen.at(-1)?.url, received);
  });
}

// Host, SNI and :authority: the virtual host is chosen by Host (HTTP/1.1) or :authority (HTTP/2).
// SNI only chooses the certificate; a request may name another virtual host than its SNI.

test('HTTP/1.1: Host picks the virtual host, whatever the SNI says', async () => {
  const r = await rawHttp1(fx.pki, fx.gw.httpsPort, 'GET / HTTP/1.1\r\nHost: beta.test\r\nConnection: close\r\n\r\n', { servername: 'alpha.test' });
  assert.deepEqual(r.statuses, [200]);
  assert.ok(r.text.endsWith('beta'));
});

test('HTTP/2: :authority picks the virtual host, whatever the SNI says', async () => {
  const r = await h2Request({ ':path': '/', ':authority': 'beta.test' }, 'alpha.test');
  assert.deepEqual(r, { status: 200, body: 'beta' });
});

test('HTTP/2: a host header that disagrees with :authority → 400; one that agrees is served', async () => {
  assert.equal((await h2Request({ ':path': '/', ':authority': 'alpha.test', host: 'beta.test' })).status, 400);
  assert.deepEqual(await h2Request({ ':path': '/', ':authority': 'alpha.test:443', host: 'ALPHA.test' }), { status: 200, body: 'alpha' });
});
