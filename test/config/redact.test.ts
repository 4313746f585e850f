import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadConfigText } from '../../src/config/load.ts';
import { redactConfig, REDACTED } from '../../src/config/redact.ts';
import { baseConfig, toYaml } from './fixtures.ts';

describe('redactConfig', () => {
  it('redacts secrets by key name, URL passwords and private JWK members', () => {
    const input = Object.freeze({
      admin: { address: '127.0.0.1:9901', token: 'admin-secret' },
      rateLimit: { redis: { url: 'redis://user:p%40ss@redis.internal:6379/0', keyPrefix: 'g:' } },
      authn: {
        providers: [
          {
            name: 'p',
            forwardToken: false,
            jwks: { keys: [{ kty: 'RSA', n: 'abc', e: 'AQAB', d: 'private', p: 'x', q: 'y', dp: '1', dq: '2', qi: '3' }] },
            clientSecret: 's',
          },
        ],
        internalToken: { issuer: 'i', signingKeyFile: '/certs/internal-token.key' },
      },
      route: { requestHeaders: { set: { authorization: 'Bearer x', 'x-api-key': 'k', 'x-edge': 'gatehouse' } } },
      password: 'pw',
      timeout: 1000,
    });
    assert.deepEqual(redactConfig(input), {
      admin: { address: '127.0.0.1:9901', token: REDACTED },
      rateLimit: { redis: { url: `redis://${REDACTED}:${REDACTED}@redis.internal:6379/0`, keyPrefix: 'g:' } },
      authn: {
        providers: [
          {
            name: 'p',
            forwardToken: false,
            jwks: {
              keys: [{ kty: 'RSA', n: 'abc', e: 'AQAB', d: REDACTED, p: REDACTED, q: REDACTED, dp: REDACTED, dq: REDACTED, qi: REDACTED }],
            },
            clientSecret: REDACTED,
          },
        ],
        internalToken: { issuer: 'i', signingKeyFile: '/certs/internal-token.key' },
      },
      route: { requestHeaders: { set: { authorization: REDACTED, 'x-api-key': REDACTED, 'x-edge': REDACTED } } },
      password: REDACTED,
      timeout: 1000,
    });
  });

  it('leaves URLs without userinfo or query alone', () => {
    assert.deepEqual(redactConfig({ url: 'redis://127.0.0.1:6379', u: 'https://a.example/x/y' }), {
      url: 'redis://127.0.0.1:6379',
      u: 'https://a.example/x/y',
    });
  });

  it('redacts every URL\'s query values and userinfo, every header-mutation value, secret header matchers (issue 9.14)', () => {
    const out = redactConfig({
      authn: { providers: [{ jwksUri: 'https://idp.example/certs?client_id=gh&client_secret=s3cr3t&client_secret=again' }] },
      tracing: { otlp: { endpoint: 'http://collector:4318/v1/traces?api-key=k' } },
      other: 'https://token@host.example/path',
      route: {
        match: { headers: [{ name: 'x-api-key', exact: 'k3y' }, { name: 'x-env', prefix: 'prod' }, { name: 'Cookie', regex: '.*sid=zz.*' }] },
        stickyOn: { cookie: 'session' },
        requestHeaders: { set: { cookie: 'session=abc' }, add: { 'x-partner-key': 'p4' }, remove: ['x-debug'] },
        responseHeaders: { set: { 'set-cookie': 'a=b' } },
      },
    }) as any;
    assert.equal(out.authn.providers[0].jwksUri, `https://idp.example/certs?client_id=${REDACTED}&client_secret=${REDACTED}`);
    assert.equal(out.tracing.otlp.endpoint, `http://collector:4318/v1/traces?api-key=${REDACTED}`);
    assert.equal(out.other, `https://${REDACTED}@host.example/path`);
    assert.deepEqual(out.route.match.headers, [{ name: 'x-api-key', exact: REDACTED }, { name: 'x-env', prefix: 'prod' }, { name: 'Cookie', regex: REDACTED }]);
    assert.deepEqual(out.route.stickyOn, { cookie: 'session' }, 'a cookie name is not a secret');
    assert.deepEqual(out.route.requestHeaders, { set: { cookie: REDACTED }, add: { 'x-partner-key': REDACTED }, remove: ['x-debug'] });
    assert.deepEqual(out.route.responseHeaders, { set: { 'set-cookie': REDACTED } });
    for (const secret of ['s3cr3t', 'again', 'api-key=k', 'token@', 'k3y', 'abc', 'p4', 'a=b', 'sid=zz']) assert.ok(!JSON.stringify(out).includes(secret), secret);
  });

  it('gives a JSON-safe, unfrozen copy of a loaded config', async () => {
    const c = baseConfig();
    c.admin = { token: 'very-secret' };
    const r = await loadConfigText(toYaml(c), {});
    assert.ok(r.ok);
    if (!r.ok) return;
    const out = redactConfig(r.config) as { admin: { token: string } };
    assert.equal(out.admin.token, REDACTED);
    assert.equal(r.config.admin.token, 'very-secret', 'the snapshot itself is untouched');
    assert.ok(!JSON.stringify(out).includes('very-secret'));
    assert.deepEqual(JSON.parse(JSON.stringify(out)), out);
  });
});
