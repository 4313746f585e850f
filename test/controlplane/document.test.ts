import { test } from 'node:test';
import assert from 'node:assert/strict';
import { validateServiceDocument } from '../../src/controlplane/registry/document.ts';
import { parseControlPlaneConfig } from '../../src/controlplane/config.ts';
import { documentFromForm, formFromDocument, formFromPost } from '../../src/controlplane/registry/forms.ts';

// Every write passes validateServiceDocument: `path: message` errors, the gateway config's style.

const base = { name: 'checkout', versions: [{ name: 'v1', weight: 100 }] };

test('table: documents refused, with every error as path: message', () => {
  const cases: Array<[string, unknown, string[]]> = [
    ['negative weight', { ...base, versions: [{ name: 'v1', weight: -1 }] }, ['versions[0].weight: must be a number ≥ 0']],
    ['weight as text', { ...base, versions: [{ name: 'v1', weight: 'ten' }] }, ['versions[0].weight: must be a number ≥ 0']],
    ['unknown key', { ...base, colour: 'blue' }, ['colour: unknown key']],
    ['no versions', { name: 'checkout' }, ['versions: required']],
    ['bad name', { ...base, name: 'Check_out' }, ['name: expected lower-case letters, digits and -, starting and ending with a letter or digit (max 63)']],
    ['endpoint is a host name', { ...base, versions: [{ name: 'v1', endpoints: ['checkout.internal:9443'] }] }, ['versions[0].endpoints[0]: expected an IP address, not a host name (use srv: for DNS names)']],
    ['endpoint without port', { ...base, versions: [{ name: 'v1', endpoints: ['10.0.0.1'] }] }, ['versions[0].endpoints[0]: expected an IP address and port, e.g. 10.0.0.1:9443']],
    ['endpoints and srv together', { ...base, versions: [{ name: 'v1', endpoints: ['10.0.0.1:1'], srv: '_h._tcp.x.local' }] }, ['versions[0]: only one of endpoints, srv may be set (registered instances need neither)']],
    ['duplicate version', { ...base, versions: [{ name: 'v1' }, { name: 'v1' }] }, ['versions[1].name: duplicate version v1']],
    ['depends on itself', { ...base, dependsOn: ['checkout'] }, ['dependsOn[0]: a service cannot depend on itself']],
    ['bad duration', { ...base, expose: [{ domains: ['a.test'], timeout: 'soon' }] }, ['expose[0].timeout: invalid duration "soon" (use e.g. 500ms, 10s, 1m)']],
    ['prefix without slash', { ...base, expose: [{ domains: ['a.test'], prefix: 'api' }] }, ['expose[0].prefix: must start with /']],
    ['bad domain', { ...base, expose: [{ domains: ['a b'] }] }, ['expose[0].domains[0]: expected a domain: exact, *.suffix or *']],
    ['same route twice in one service', { ...base, expose: [{ domains: ['a.test'], prefix: '/x' }, { domains: ['A.test'], prefix: '/x' }] }, ['expose[1]: A.test/x is already exposed by expose[0]']],
    ['exposed with all weights 0', { ...base, versions: [{ name: 'v1', weight: 0 }, { name: 'v2', weight: 0 }], expose: [{ domains: ['a.test'] }] }, ['versions: the weights must add up to more than 0 when the service is exposed']],
    ['bad retry condition', { ...base, expose: [{ domains: ['a.test'], retries: { retryOn: ['sometimes'] } }] }, ['expose[0].retries.retryOn[0]: expected one of connect-failure, refused-stream, reset, 5xx, gateway-error, retriable-4xx or a status code like 503']],
    ['identity not SPIFFE', { ...base, identity: 'checkout' }, ['identity: expected a SPIFFE ID like spiffe://mesh.local/ns/shop/sa/checkout']],
    ['not an object', [1, 2], ['(root): expected a JSON object']],
  ];
  for (const [what, input, errors] of cases) {
    const r = validateServiceDocument(input);
    assert.equal(r.ok, false, what);
    assert.deepEqual(!r.ok && r.errors, errors, what);
  }
});

test('defaults are filled; read-only keys a GET adds are dropped; the URL name must match', () => {
  const r = validateServiceDocument({ versions: [{ name: 'v1' }], problems: ['x'], revision: 3, instances: {} }, 'checkout');
  assert.ok(r.ok);
  assert.deepEqual(r.document, { name: 'checkout', namespace: 'default', owners: [], dependsOn: [], versions: [{ name: 'v1', weight: 0 }], expose: [] });
  const mismatch = validateServiceDocument({ ...base, name: 'cart' }, 'checkout');
  assert.deepEqual(!mismatch.ok && mismatch.errors, ['name: must match the URL (checkout)']);
  const exposed = validateServiceDocument({ ...base, expose: [{ domains: ['a.test'] }] });
  assert.ok(exposed.ok);
  assert.deepEqual(exposed.document.expose, [{ domains: ['a.test'], prefix: '/', routeConfig: 'gatehouse' }]);
});

test('the form round-trips a document, and a posted form becomes the same document', () => {
  const r = validateServiceDocument({
    name: 'checkout', namespace: 'shop', owners: ['team-shop', 'sre'], dependsOn: ['payments'],
    versions: [{ name: 'v1', weight: 90, endpoints: ['10.0.0.1:9443', '10.0.0.2:9443'] }, { name: 'v2', weight: 10, srv: '_h._tcp.c.local' }],
    expose: [{ domains: ['shop.example.com', 'www.example.com'], prefix: '/checkout', timeout: '10s', retries: { attempts: 2 } }],
  });
  assert.ok(r.ok);
  const form = formFromDocument(r.document, 7);
  assert.equal(form.revision, '7');
  const again = validateServiceDocument(documentFromForm(form));
  assert.ok(again.ok);
  assert.deepEqual(again.document, r.document);
  // what a browser posts: rows, blank rows, checkboxes and the free-text dependencies
  const posted = formFromPost({
    name: 'cart', namespace: '', owners: 'a, b', dependsOn: ['payments', 'inventory'], dependsOnOther: 'tax, payments',
    'v0.name': 'v1', 'v0.weight': '5', 'v0.endpoints': '10.0.0.1:1 10.0.0.2:1', 'v0.srv': '',
    'v1.name': '', 'v1.weight': '', 'v1.endpoints': '', 'v1.srv': '',
    'e0.domains': 'cart.test', 'e0.prefix': '/cart', 'e0.timeout': '', 'e0.retries': '1', 'e0.routeConfig': '',
  });
  const fromPost = validateServiceDocument(documentFromForm(posted));
  assert.ok(fromPost.ok, !fromPost.ok ? fromPost.errors.join() : '');
  assert.deepEqual(fromPost.document.dependsOn, ['payments', 'inventory', 'tax']);
  assert.deepEqual(fromPost.document.versions, [{ name: 'v1', weight: 5, endpoints: ['10.0.0.1:1', '10.0.0.2:1'] }]);
  assert.deepEqual(fromPost.document.expose, [{ domains: ['cart.test'], prefix: '/cart', retries: { attempts: 1 }, routeConfig: 'gatehouse' }]);
  // a weight typed as text reaches the validator as text, and is refused there
  const bad = validateServiceDocument(documentFromForm(formFromPost({ name: 'x', 'v0.name': 'v1', 'v0.weight': 'lots' })));
  assert.deepEqual(!bad.ok && bad.errors, ['versions[0].weight: must be a number ≥ 0']);
});

test('control-plane config: defaults, and every error as path: message', () => {
  const ok = parseControlPlaneConfig('xds: { address: "127.0.0.1:18000" }\nsource: { etcd: { endpoints: ["http://127.0.0.1:2379"] } }\nregistry: { address: "127.0.0.1:9903" }\n');
  assert.ok(ok.ok);
  assert.equal(ok.config.source.etcd!.prefix, '/gatehouse/');
  assert.equal(ok.config.trustDomain, 'mesh.local');
  assert.deepEqual(ok.config.clusterTls, { certFile: 'certs/gatehouse.crt', keyFile: 'certs/gatehouse.key', caFile: 'certs/ca.crt' });

  const bad = parseControlPlaneConfig(
    'xds: { address: "nowhere" }\nsource: { etcd: { endpoints: ["127.0.0.1:2379"], prefix: "/x" }, file: r.yaml }\nregistry: { address: "0.0.0.0:9903" }\nextra: 1\n',
  );
  assert.ok(!bad.ok);
  assert.deepEqual(
    bad.errors.map((e) => `${e.path}: ${e.message}`).sort(),
    [
      'extra: unknown key',
      'registry.token: required when registry.address is not a loopback address',
      'source: exactly one of etcd, file is required',
      'source.etcd.endpoints[0]: expected a URL like http://127.0.0.1:2379',
      'source.etcd.prefix: must end with /',
      'xds.address: expected host:port (e.g. 0.0.0.0:8443 or [::1]:8443)',
    ].sort(),
  );
  const noFile = parseControlPlaneConfig('xds: { address: "127.0.0.1:1", tls: { certFile: /nonexistent/x.crt, keyFile: /nonexistent/x.key } }\nsource: { file: /nonexistent/r.yaml }\nregistry: { address: "127.0.0.1:2" }\n');
  assert.deepEqual(!noFile.ok && noFile.errors.map((e) => `${e.path}: ${e.message}`), ['xds.tls.certFile: file not found', 'xds.tls.keyFile: file not found']);
  const env = parseControlPlaneConfig('xds: { address: "127.0.0.1:1" }\nsource: { file: r.yaml }\nregistry: { address: "0.0.0.0:2", token: "${REGISTRY_TOKEN}" }\n', {});
  assert.deepEqual(!env.ok && env.errors.map((e) => `${e.path}: ${e.message}`), ['registry.token: environment variable REGISTRY_TOKEN is not set']);
});
