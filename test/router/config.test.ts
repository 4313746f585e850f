import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadConfigText } from '../../src/config/load.ts';
import { testPki } from '../helpers/pki.ts';
import { compileHost } from '../helpers/router-fixtures.ts';

// Validation of the routing keys: what is accepted, and the `path: message` of what is not.

async function load(routes: string) {
  const pki = await testPki();
  return loadConfigText(`
listeners:
  - name: public
    address: 127.0.0.1:18443
    tls: { certificates: [{ certFile: ${pki.file('edge.crt')}, keyFile: ${pki.file('edge.key')} }] }
virtualHosts:
  - name: main
    domains: ["*"]
    routes:
${routes}
clusters:
  - { name: a, discovery: { type: static, endpoints: ["127.0.0.1:9001"] } }
  - { name: b, discovery: { type: static, endpoints: ["127.0.0.1:9002"] } }
`);
}

test('every routing key of the SPEC is accepted', async () => {
  const r = await load(`
      - name: full
        match:
          prefix: /checkout
          methods: [GET, POST]
          headers: [{ name: x-env, prefix: "prod", invert: false }, { name: x-b, regex: "[a-z]+" }]
          query: [{ name: debug, exact: "1" }, { name: q, regex: "[0-9]+" }, { name: p, present: true }]
        route:
          weightedClusters: [{ cluster: a, weight: 90 }, { cluster: b, weight: 10 }]
          stickyOn: { cookie: session }
          prefixRewrite: /
          hostRewrite: checkout.internal
          timeout: 10s
          retries: { attempts: 3, perTryTimeout: 3s, retryOn: [connect-failure, reset, "503", gateway-error] }
          requestHeaders: { set: { x-edge: gatehouse }, add: { x-id: "%REQUEST_ID%" }, remove: [x-debug] }
          responseHeaders: { set: { strict-transport-security: "max-age=31536000" }, remove: [server] }
          websocket: true
          mirror: { cluster: b, percent: 5 }
          fault: { delay: { fixed: 2s, percent: 1 }, abort: { status: 503, percent: 0.5 } }
      - { name: re, match: { regex: "/api/v[0-9]+/.*" }, route: { cluster: a } }`);
  assert.equal(r.ok, true, JSON.stringify(!r.ok && r.errors));
});

test('regexes prone to catastrophic backtracking are refused with their path', async () => {
  const r = await load(`
      - name: bad
        match:
          regex: "/(a+)+b"
          headers: [{ name: x-a, regex: "(x+x+)+y" }]
          query: [{ name: q, regex: "([a-z]*)*" }]
        route: { cluster: a }`);
  assert.equal(r.ok, false);
  const errors = !r.ok ? r.errors : [];
  const paths = errors.map((e) => e.path);
  assert.ok(paths.includes('virtualHosts[0].routes[0].match.regex'), JSON.stringify(errors));
  assert.ok(paths.includes('virtualHosts[0].routes[0].match.headers[0].regex'));
  assert.ok(paths.includes('virtualHosts[0].routes[0].match.query[0].regex'));
  assert.match(errors[0].message, /backtrack/);
});

test('compile errors: unknown header variable, gateway-owned headers, prefixRewrite on a regex route', () => {
  const { errors } = compileHost([
    { name: 'v', match: { prefix: '/' }, route: { cluster: 'a', requestHeaders: { set: { 'x-a': 'id=%REQUESTID%' } } } },
    { name: 'h', match: { prefix: '/' }, route: { cluster: 'a', requestHeaders: { set: { Host: 'x' } }, responseHeaders: { remove: ['content-length'] } } },
    { name: 'r', match: { regex: '/x.*' }, route: { cluster: 'a', prefixRewrite: '/' } },
    { name: 'c', match: { prefix: '/' }, route: { weightedClusters: [{ cluster: 'a', weight: 1 }, { cluster: 'nope', weight: 1 }] } },
  ]);
  const byPath = Object.fromEntries(errors.map((e) => [e.path, e.message]));
  assert.match(byPath['virtualHosts[0].routes[0].route.requestHeaders.set.x-a'], /unknown variable %REQUESTID%/);
  assert.match(byPath['virtualHosts[0].routes[1].route.requestHeaders.set.Host'], /hostRewrite/);
  assert.match(byPath['virtualHosts[0].routes[1].route.responseHeaders.remove[0]'], /managed by the gateway/);
  assert.match(byPath['virtualHosts[0].routes[2].route.prefixRewrite'], /prefix or path/);
  assert.match(byPath['virtualHosts[0].routes[3].route.weightedClusters[1].cluster'], /unknown cluster/);
});
