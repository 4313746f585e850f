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
  ['/admin#/../public', 403], // the fragment is cut before normalising: this is /admin
  ['https://localhost/admin/users', 403], // absolute-form (RFC 9112 §3.2.2): its path is normalised the same way
  ['HTTP://localhost/public/../admin/users', 403],
  ['ftp://localhost/admin/users', 400], // absolute-form with another scheme
  ['https://user@localhost/admin/users', 400], // userinfo (RFC 9110 §4.2.4)
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
    if (target === '*' || /^[a-z]+:/i.test(target)) continue; // not a valid :path for a GET
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
  ['/a#frag', '/a'], // a fragment is never forwarded (nginx would cut the path there, node would not)
  ['/a?x=1#frag?y', '/a?x=1'],
  ['/a{b}', '/a%7Bb%7D'], // what a URI may not carry raw is encoded, as browsers and Envoy do
  ['/a"<>`', '/a%22%3C%3E%60'],
  ['/a%7bb%7D', '/a%7Bb%7D'],
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

// The target's authority and Host (src/listener/request-target.ts).

test('HTTP/1.1 absolute-form: the target\'s authority picks the virtual host and is the Host forwarded; the Host sent is ignored', async () => {
  const r = await rawHttp1(fx.pki, fx.gw.httpsPort, 'GET https://beta.test/x HTTP/1.1\r\nHost: alpha.test\r\nConnection: close\r\n\r\n');
  assert.deepEqual(r.statuses, [200]);
  assert.ok(r.text.endsWith('beta'));
  const before = fx.up.seen.length;
  const up = await rawHttp1(fx.pki, fx.gw.httpsPort, 'GET https://Other.Test:8443?q=1 HTTP/1.1\r\nHost: alpha.test\r\nConnection: close\r\n\r\n');
  assert.deepEqual(up.statuses, [200]);
  assert.equal(fx.up.seen.length, before + 1);
  const seen = fx.up.seen.at(-1)!;
  assert.equal(seen.url, '/?q=1', 'origin-form toward the upstream');
  assert.equal(seen.headers.host, 'Other.Test:8443');
  assert.equal(seen.headers['x-forwarded-host'], 'Other.Test:8443');
});

/** Host values RFC 9112 §3.2 says a server MUST refuse (400): none may reach the upstream. */
const badHosts = ['user@localhost', 'a b', 'localhost/x', 'localhost:8a', 'a:1:2', '[::1', '[::1]x', '[zz]', ':443', 'ex"ample', 'loc%zzal', 'caf\u00e9.test'];

test('HTTP/1.1: an invalid Host is refused with 400 and never forwarded', async () => {
  const before = fx.up.seen.length;
  for (const host of badHosts) {
    const r = await rawHttp1(fx.pki, fx.gw.httpsPort, Buffer.from(`GET /x HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`, 'latin1'));
    assert.deepEqual(r.statuses, [400], host);
  }
  assert.equal(fx.up.seen.length, before);
  for (const host of ['localhost', 'LOCALHOST:1', '[::1]:8443', '[::1]', '127.0.0.1', 'a-b_c~d.test', 'x.test:']) {
    assert.equal((await h1Status('/x', host)).status, 200, host);
  }
});

test('HTTP/2: an invalid :authority is refused with 400 and never forwarded', async () => {
  const before = fx.up.seen.length;
  for (const authority of ['user@localhost', 'a:1:2', 'localhost:8a', '[zz]']) {
    const r = await h2Request({ ':path': '/x', ':authority': authority }).catch(() => ({ status: 400, body: '' })); // nghttp2 may reset it first
    assert.equal(r.status, 400, authority);
  }
  assert.equal(fx.up.seen.length, before);
});

test('CONNECT is answered 501 over HTTP/1.1 (then closed) and over HTTP/2 (the session keeps serving)', async () => {
  const r = await rawHttp1(fx.pki, fx.gw.httpsPort, 'CONNECT localhost:443 HTTP/1.1\r\nHost: localhost:443\r\n\r\n');
  assert.deepEqual(r.statuses, [501]);
  assert.match(r.text, /connection: close/i);
  assert.equal(JSON.parse(r.text.slice(r.text.indexOf('\r\n\r\n') + 4)).error, 'method_not_supported');
});

test('a request line of another HTTP version on an HTTP/1.1 connection gets 505 and is not forwarded', async () => {
  const before = fx.up.seen.length;
  for (const version of ['HTTP/2.0', 'HTTP/3.0']) {
    const r = await rawHttp1(fx.pki, fx.gw.httpsPort, `GET /x ${version}\r\nHost: localhost\r\n\r\n`);
    // llhttp refuses some versions itself (400); the ones it parses are ours to refuse
    assert.ok(r.statuses[0] === 505 || r.statuses[0] === 400, `${version}: ${r.text.slice(0, 40)}`);
    assert.ok(r.closedByServer, version);
  }
  const two = await rawHttp1(fx.pki, fx.gw.httpsPort, 'GET /x HTTP/2.0\r\nHost: localhost\r\n\r\n');
  assert.deepEqual(two.statuses, [505]);
  assert.equal(JSON.parse(two.text.slice(two.text.indexOf('\r\n\r\n') + 4)).error, 'http_version_not_supported');
  assert.equal(fx.up.seen.length, before);
  assert.equal((await h1Status('/x')).status, 200);
});
