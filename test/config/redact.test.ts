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
      rateLimit: { redis: { url: `redis://user:${REDACTED}@redis.internal:6379/0`, keyPrefix: 'g:' } },
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
      route: { requestHeaders: { set: { authorization: REDACTED, 'x-api-key': REDACTED, 'x-edge': 'gatehouse' } } },
      password: REDACTED,
      timeout: 1000,
    });
  });

  it('leaves URLs without a password alone', () => {
    assert.deepEqual(redactConfig({ url: 'redis://127.0.0.1:6379', u: 'https://a.example/x?y=1' }), {
      url: 'redis://127.0.0.1:6379',
      u: 'https://a.example/x?y=1',
    });
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
