import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { formatConfigError, loadConfigText } from '../../src/config/load.ts';
import type { GatewayConfig } from '../../src/config/schema.ts';
import { compileExtAuthz } from '../../src/filters/ext-authz/runtime.ts';
import { baseConfig, F, toYaml } from '../config/fixtures.ts';

// extAuthz in the config: defaults, and the exact errors of what the schema, the semantic checks and
// the ext_authz compile refuse.

const VH = 'virtualHosts[0]';
const R0 = `${VH}.routes[0]`;

async function load(mutate: (c: any) => void) {
  const c = baseConfig();
  mutate(c);
  return loadConfigText(toYaml(c), {});
}

describe('extAuthz config', () => {
  it('loads with defaults; a route may turn its host\'s off with null', async () => {
    const r = await load((c) => {
      c.virtualHosts[0].extAuthz = { grpc: { address: '127.0.0.1:9191' } };
      c.virtualHosts[0].routes[1].extAuthz = null;
      c.virtualHosts[0].routes[0].extAuthz = { http: { url: 'http://127.0.0.1:9192/check' }, withRequestBody: { maxBytes: 1024 } };
    });
    assert.ok(r.ok, r.ok ? '' : r.errors.map(formatConfigError).join('\n'));
    const vh = r.config.virtualHosts[0]!;
    assert.deepEqual(vh.extAuthz, { grpc: { address: '127.0.0.1:9191' }, timeout: 250, failureModeAllow: false });
    assert.equal(vh.routes[1]!.extAuthz, null);
    assert.deepEqual(vh.routes[0]!.extAuthz?.http, { url: 'http://127.0.0.1:9192/check', headersToServer: [], headersFromServer: [] });
    assert.deepEqual(vh.routes[0]!.extAuthz?.withRequestBody, { maxBytes: 1024, packAsBytes: false });
  });

  const rows: Array<{ name: string; mutate: (c: any) => void; errors: string[] }> = [
    {
      name: 'neither grpc nor http',
      mutate: (c) => (c.virtualHosts[0].extAuthz = { timeout: '1s' }),
      errors: [`${VH}.extAuthz: exactly one of grpc, http is required`],
    },
    {
      name: 'both grpc and http',
      mutate: (c) => (c.virtualHosts[0].extAuthz = { grpc: { address: '127.0.0.1:1' }, http: { url: 'http://127.0.0.1:2' } }),
      errors: [`${VH}.extAuthz: only one of grpc, http may be set (found grpc and http)`],
    },
    {
      name: 'a body larger than the listener accepts',
      mutate: (c) => {
        c.listeners[0].limits = { maxBodyBytes: 1000 };
        c.virtualHosts[0].routes[0].extAuthz = { grpc: { address: '127.0.0.1:1' }, withRequestBody: { maxBytes: 2000 } };
      },
      errors: [`${R0}.extAuthz.withRequestBody.maxBytes: must not exceed listeners[0].limits.maxBodyBytes (1000)`],
    },
    {
      name: 'context extensions the gateway sets itself',
      mutate: (c) => (c.virtualHosts[0].extAuthz = { grpc: { address: '127.0.0.1:1' }, contextExtensions: { route: 'x', 'claim.sub': 'y', team: 'ok' } }),
      errors: [
        `${VH}.extAuthz.contextExtensions.route: is set by the gateway (route, virtualHost, claim.*)`,
        `${VH}.extAuthz.contextExtensions["claim.sub"]: is set by the gateway (route, virtualHost, claim.*)`,
      ],
    },
    {
      name: 'a TLS file that does not exist, a certificate without its key',
      mutate: (c) => (c.virtualHosts[0].routes[0].extAuthz = { grpc: { address: '127.0.0.1:1', tls: { caFile: F.missing, certFile: F.clientCrt } } }),
      errors: [`${R0}.extAuthz.grpc.tls.keyFile: required when certFile is set`, `${R0}.extAuthz.grpc.tls.caFile: file not found`],
    },
    {
      name: 'plain http to a remote authorization service',
      mutate: (c) => (c.virtualHosts[0].extAuthz = { http: { url: 'http://authz.example.com/check' } }),
      errors: [`${VH}.extAuthz.http.url: must use https (plain http is only allowed to a loopback address)`],
    },
    {
      name: 'a bad timeout and a bad address',
      mutate: (c) => (c.virtualHosts[0].extAuthz = { grpc: { address: 'nope' }, timeout: 'soon' }),
      errors: [
        `${VH}.extAuthz.grpc.address: expected host:port (e.g. 0.0.0.0:8443 or [::1]:8443)`,
        `${VH}.extAuthz.timeout: invalid duration "soon" (use e.g. 250ms, 10s, 5m, 1h30m)`,
      ],
    },
  ];
  for (const row of rows) {
    it(`refuses ${row.name}`, async () => {
      const r = await load(row.mutate);
      assert.equal(r.ok, false);
      if (!r.ok) assert.deepEqual(r.errors.map(formatConfigError).sort(), [...row.errors].sort());
    });
  }

  it('the compile refuses a url with a query and headers the gateway manages', async () => {
    const r = await load((c) => {
      c.virtualHosts[0].extAuthz = {
        http: { url: 'http://127.0.0.1:9/check?x=1', headersToServer: ['Host', 'authorization'], headersFromServer: ['content-length'] },
      };
    });
    assert.ok(r.ok);
    const errors: Array<{ path: string; message: string }> = [];
    const compiled = await compileExtAuthz(r.config as GatewayConfig, undefined, errors);
    for (const c of compiled.created) c.close();
    assert.deepEqual(errors.map((e) => `${e.path}: ${e.message}`), [
      `${VH}.extAuthz.http.url: must not have a query (the request path and query are appended to it)`,
      `${VH}.extAuthz.http.headersToServer[0]: header "Host" is managed by the gateway`,
      `${VH}.extAuthz.http.headersFromServer[0]: header "content-length" is managed by the gateway`,
    ]);
  });

  it('routes naming the same service share it', async () => {
    const svc = { grpc: { address: '127.0.0.1:9191' }, timeout: '1s' };
    const r = await load((c) => {
      c.virtualHosts[0].extAuthz = svc;
      c.virtualHosts[0].routes[0].extAuthz = { ...svc, timeout: '2s', failureModeAllow: true };
    });
    assert.ok(r.ok);
    const compiled = await compileExtAuthz(r.config as GatewayConfig, undefined, []);
    try {
      assert.equal(compiled.runtime.services.size, 1, 'timeout and failure mode are per route; the channel is per service');
      assert.equal(compiled.runtime.maxTimeoutMs, 2000);
    } finally {
      compiled.runtime.close();
    }
  });
});
