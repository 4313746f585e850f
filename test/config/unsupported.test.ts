import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { findUnsupported, UNSUPPORTED } from '../../src/config/unsupported.ts';

describe('unsupported keys', () => {
  it('walks lists and reports each hit with its path', () => {
    const rules = [{ path: 'virtualHosts[].routes[].match.regex' }, { path: 'virtualHosts[].routes[].route.retries' }];
    const tree = {
      virtualHosts: [
        { routes: [{ match: { prefix: '/' } }, { match: { regex: '.*', methods: ['GET'] } }] },
        { routes: [{ route: { retries: {} } }] },
      ],
    };
    assert.deepEqual(findUnsupported(tree, rules), [
      { path: 'virtualHosts[0].routes[1].match.regex', message: 'not supported yet' },
      { path: 'virtualHosts[1].routes[0].route.retries', message: 'not supported yet' },
    ]);
  });

  it('honours value conditions (the real table: PROXY protocol is not built yet; EDS is)', () => {
    const tree = {
      listeners: [{ proxyProtocol: false }, { proxyProtocol: true }],
      clusters: [
        { discovery: { type: 'static' }, loadBalancer: { policy: 'round_robin' }, http2: false },
        { discovery: { type: 'eds' }, loadBalancer: { policy: 'maglev' }, http2: true },
      ],
    };
    assert.deepEqual(findUnsupported(tree).map((e) => e.path), ['listeners[1].proxyProtocol']);
  });

  it('ignores shapes it does not understand (the schema reports those)', () => {
    for (const tree of [null, 3, 'x', [], { virtualHosts: 'x' }, { virtualHosts: [null, 1, { routes: {} }] }]) {
      assert.deepEqual(findUnsupported(tree), []);
    }
  });

  it('takes a custom table', () => {
    assert.deepEqual(findUnsupported({ a: { b: [1] } }, [{ path: 'a.b' }]), [{ path: 'a.b', message: 'not supported yet' }]);
  });

  it('has well-formed patterns', () => {
    for (const r of UNSUPPORTED) assert.match(r.path, /^[A-Za-z0-9]+(\[\])?(\.[A-Za-z0-9]+(\[\])?)*$/);
  });
});
