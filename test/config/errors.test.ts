/**
 * A table of bad configs and the EXACT errors `gatehouse validate` must print for them.
 * Each row starts from the good base config (fixtures.ts) and breaks it; `yaml` rows give the text.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { describe, it } from 'node:test';
import { formatConfigError, loadConfigFile, loadConfigText } from '../../src/config/load.ts';
import { baseConfig, dir, F, toYaml } from './fixtures.ts';

interface Row {
  name: string;
  mutate?: (c: any) => void;
  yaml?: string;
  env?: NodeJS.ProcessEnv;
  errors: string[];
}

const R0 = 'virtualHosts[0].routes[0]';

const rows: Row[] = [
  {
    name: 'unknown key (a typo next to the real key)',
    mutate: (c) => (c.virtualHosts[0].routes[0].matchh = { prefix: '/x' }),
    errors: [`${R0}.matchh: unknown key`],
  },
  {
    name: 'unknown key replacing a required one',
    mutate: (c) => {
      const r = c.virtualHosts[0].routes[0];
      r.matchh = r.match;
      delete r.match;
    },
    errors: [`${R0}.match: required`, `${R0}.matchh: unknown key`],
  },
  {
    name: 'unknown top-level key',
    mutate: (c) => (c.listener = []),
    errors: ['listener: unknown key'],
  },
  {
    name: 'bad duration',
    mutate: (c) => (c.virtualHosts[0].routes[0].route.timeout = '10 s'),
    errors: [`${R0}.route.timeout: invalid duration "10 s" (use e.g. 250ms, 10s, 5m, 1h30m)`],
  },
  {
    name: 'duration given as a bare number',
    mutate: (c) => (c.listeners[0].limits = { headersTimeout: 10 }),
    errors: ['listeners[0].limits.headersTimeout: expected a duration like 10s'],
  },
  {
    name: 'zero duration where zero makes no sense',
    mutate: (c) => (c.clusters[0].connectTimeout = '0s'),
    errors: ['clusters[0].connectTimeout: must be greater than 0s'],
  },
  {
    name: 'missing required key',
    mutate: (c) => delete c.clusters[0].discovery,
    errors: ['clusters[0].discovery: required'],
  },
  {
    name: 'no listeners at all',
    mutate: (c) => delete c.listeners,
    errors: ['listeners: required'],
  },
  {
    name: 'bad TLS minVersion',
    mutate: (c) => (c.listeners[0].tls.minVersion = 'TLSv1.1'),
    errors: ['listeners[0].tls.minVersion: expected one of TLSv1.2, TLSv1.3'],
  },
  {
    name: 'wrong type for a number',
    mutate: (c) => (c.listeners[0].limits = { maxBodyBytes: 'big' }),
    errors: ['listeners[0].limits.maxBodyBytes: expected a number, got the string "big"'],
  },
  {
    name: 'number out of range',
    mutate: (c) => (c.listeners[0].limits = { maxConnections: 0 }),
    errors: ['listeners[0].limits.maxConnections: must be at least 1'],
  },
  {
    name: 'missing CA file',
    mutate: (c) => (c.clusters[1].tls.caFile = F.missing),
    errors: ['clusters[1].tls.caFile: file not found'],
  },
  {
    name: 'missing listener key file',
    mutate: (c) => (c.listeners[0].tls.certificates[0].keyFile = F.missing),
    errors: ['listeners[0].tls.certificates[0].keyFile: file not found'],
  },
  {
    name: 'a directory where a file is expected',
    mutate: (c) => (c.clusters[1].tls.caFile = dir),
    errors: ['clusters[1].tls.caFile: not a regular file'],
  },
  {
    name: 'certFile without keyFile',
    mutate: (c) => delete c.clusters[1].tls.keyFile,
    errors: ['clusters[1].tls.keyFile: required when certFile is set'],
  },
  {
    name: 'unknown cluster reference',
    mutate: (c) => (c.virtualHosts[0].routes[0].route.cluster = 'nope'),
    errors: [`${R0}.route.cluster: unknown cluster "nope"`],
  },
  {
    name: 'duplicate cluster names',
    mutate: (c) => (c.clusters[1].name = 'c0'),
    errors: ['clusters[1].name: duplicate name "c0" (also clusters[0])'],
  },
  {
    name: 'duplicate route names within a virtual host',
    mutate: (c) => (c.virtualHosts[0].routes[1].name = 'r0'),
    errors: ['virtualHosts[0].routes[1].name: duplicate name "r0" (also virtualHosts[0].routes[0])'],
  },
  {
    name: 'duplicate listener names and addresses',
    mutate: (c) => c.listeners.push({ ...c.listeners[0] }),
    errors: [
      'listeners[2].name: duplicate name "public" (also listeners[0])',
      'listeners[2].address: address 127.0.0.1:8443 is already used by listeners[0].address',
    ],
  },
  {
    name: 'a domain in two virtual hosts',
    mutate: (c) =>
      c.virtualHosts.push({ name: 'web', domains: ['API.example.com'], routes: [{ name: 'x', match: { prefix: '/' }, route: { cluster: 'c0' } }] }),
    errors: ['virtualHosts[1].domains[0]: domain "API.example.com" is already used by virtualHosts[0]'],
  },
  {
    name: 'address without a port',
    mutate: (c) => (c.listeners[0].address = '127.0.0.1'),
    errors: ['listeners[0].address: expected host:port (e.g. 0.0.0.0:8443 or [::1]:8443)'],
  },
  {
    name: 'port out of range',
    mutate: (c) => (c.clusters[0].discovery.endpoints = ['10.0.0.1:70000']),
    errors: ['clusters[0].discovery.endpoints[0]: port must be between 1 and 65535'],
  },
  {
    name: 'IPv6 address without brackets',
    mutate: (c) => (c.admin = { address: '::1:9901' }),
    errors: ['admin.address: IPv6 addresses need brackets, e.g. [::1]:8443'],
  },
  {
    name: 'bad CIDR',
    mutate: (c) => (c.listeners[0].trustedProxies = { cidrs: ['10.0.0.0/33'] }),
    errors: ['listeners[0].trustedProxies.cidrs[0]: prefix length must be between 0 and 32'],
  },
  {
    name: 'bad regular expression (and regex matching is not built yet)',
    mutate: (c) => (c.virtualHosts[0].routes[0].match = { regex: '/api/(v1' }),
    errors: [
      `${R0}.match.regex: invalid regular expression: Unterminated group`,
    ],
  },
  {
    name: 'environment variable not set',
    mutate: (c) => (c.listeners[0].address = '${LISTEN_ADDR}'),
    env: {},
    errors: ['listeners[0].address: environment variable LISTEN_ADDR is not set'],
  },
  {
    name: 'malformed environment reference',
    mutate: (c) => (c.admin = { token: '${ADMIN-TOKEN}' }),
    env: {},
    errors: ['admin.token: invalid environment variable reference "${ADMIN-TOKEN}" (use ${NAME}, or $${ for a literal ${)'],
  },
  {
    name: 'grpcHealth: a bad address',
    mutate: (c) => (c.grpcHealth = { address: 'nowhere' }),
    errors: ['grpcHealth.address: expected host:port (e.g. 0.0.0.0:8443 or [::1]:8443)'],
  },
  {
    name: 'proxyProtocol: not a boolean',
    mutate: (c) => (c.listeners[0].proxyProtocol = 'v2'),
    errors: ['listeners[0].proxyProtocol: expected true or false, got the string "v2"'],
  },
  {
    name: 'EDS discovery without xds',
    mutate: (c) => (c.clusters[0].discovery = { type: 'eds' }),
    errors: ['clusters[0].discovery.type: eds needs xds (the endpoints come from the xDS server)'],
  },
  {
    name: 'unknown discovery type',
    mutate: (c) => (c.clusters[0].discovery = { type: 'consul' }),
    errors: ['clusters[0].discovery.type: expected one of static, dns, srv, eds'],
  },
  {
    name: 'weights all zero',
    mutate: (c) =>
      (c.virtualHosts[0].routes[0].route = { weightedClusters: [{ cluster: 'c0', weight: 0 }, { cluster: 'c1', weight: 0 }] }),
    errors: [`${R0}.route.weightedClusters: total weight must be above 0`],
  },
  {
    name: 'negative weight',
    mutate: (c) => (c.virtualHosts[0].routes[0].route = { weightedClusters: [{ cluster: 'c0', weight: -1 }] }),
    errors: [`${R0}.route.weightedClusters[0].weight: must be at least 0`],
  },
  {
    name: 'route with both route and redirect',
    mutate: (c) => (c.virtualHosts[0].routes[0].redirect = { to: '/new' }),
    errors: [`${R0}: only one of route, redirect, directResponse may be set (found route and redirect)`],
  },
  {
    name: 'route with no action',
    mutate: (c) => delete c.virtualHosts[0].routes[0].route,
    errors: [`${R0}: exactly one of route, redirect, directResponse is required`],
  },
  {
    name: 'match with no path condition',
    mutate: (c) => (c.virtualHosts[0].routes[0].match = {}),
    errors: [`${R0}.match: exactly one of prefix, path, regex is required`],
  },
  {
    name: 'match with prefix and path',
    mutate: (c) => (c.virtualHosts[0].routes[0].match = { prefix: '/a', path: '/b' }),
    errors: [`${R0}.match: only one of prefix, path, regex may be set (found prefix and path)`],
  },
  {
    name: 'route action with cluster and weightedClusters',
    mutate: (c) => (c.virtualHosts[0].routes[0].route.weightedClusters = [{ cluster: 'c0', weight: 1 }]),
    errors: [
      `${R0}.route: only one of cluster, weightedClusters may be set (found cluster and weightedClusters)`,
    ],
  },
  {
    name: 'header matcher with two kinds',
    mutate: (c) => (c.virtualHosts[0].routes[0].match.headers = [{ name: 'x-env', exact: 'prod', prefix: 'pr' }]),
    errors: [
      `${R0}.match.headers[0]: only one of exact, prefix, suffix, regex, present, absent may be set (found exact and prefix)`,
    ],
  },
  {
    name: 'redirect target neither a path nor a URL',
    mutate: (c) => (c.virtualHosts[0].routes[0] = { name: 'r0', match: { prefix: '/' }, redirect: { to: 'new' } }),
    errors: [`${R0}.redirect.to: expected a path starting with / or an absolute http(s) URL`],
  },
  {
    name: 'bad redirect status',
    mutate: (c) => (c.virtualHosts[0].routes[0] = { name: 'r0', match: { prefix: '/' }, redirect: { to: '/x', status: 200 } }),
    errors: [`${R0}.redirect.status: expected one of 301, 302, 303, 307, 308`],
  },
  {
    name: 'direct response status out of range',
    mutate: (c) => (c.virtualHosts[0].routes[1].directResponse.status = 99),
    errors: ['virtualHosts[0].routes[1].directResponse.status: must be at least 200'],
  },
  {
    name: 'plain listener without redirectToHttps',
    mutate: (c) => delete c.listeners[1].redirectToHttps,
    errors: ['listeners[1]: plain HTTP (no tls) is not supported yet; add tls or set redirectToHttps: true'],
  },
  {
    name: 'redirectToHttps on a TLS listener',
    mutate: (c) => (c.listeners[0].redirectToHttps = true),
    errors: ['listeners[0].redirectToHttps: only applies to a listener without tls'],
  },
  {
    name: 'redirectToHttps with no TLS listener to go to',
    mutate: (c) => c.listeners.shift(),
    errors: ['listeners[0].redirectToHttps: needs a listener with tls to redirect to'],
  },
  {
    name: 'bad virtual host domain',
    mutate: (c) => (c.virtualHosts[0].domains = ['api.example.com:443']),
    errors: ['virtualHosts[0].domains[0]: expected a host name, "*.suffix" or "*" (no port)'],
  },
  {
    name: 'empty list where one item is needed',
    mutate: (c) => (c.virtualHosts[0].routes = []),
    errors: ['virtualHosts[0].routes: must not be empty'],
  },
  {
    name: 'unknown authn provider',
    mutate: (c) => (c.virtualHosts[0].authn = { providers: ['nope'] }),
    errors: ['virtualHosts[0].authn.providers[0]: unknown authn provider "nope"'],
  },
  {
    name: 'YAML syntax error',
    yaml: 'listeners:\n  - name: public\n    address: [127.0.0.1:8443\nclusters: []\n',
    errors: ['(line 4, col 1): Flow sequence in block collection must be sufficiently indented and end with a ]'],
  },
  {
    name: 'duplicate YAML key',
    yaml: 'listeners: []\nlisteners: []\n',
    errors: ['(line 2, col 1): Map keys must be unique'],
  },
  {
    name: 'empty document',
    yaml: '# nothing here\n',
    errors: ['(root): the configuration is empty'],
  },
  {
    name: 'not a mapping at the top',
    yaml: '- listeners\n',
    errors: ['(root): expected a mapping, got a list'],
  },
  {
    name: 'several errors at once, in one report',
    mutate: (c) => {
      c.listeners[0].tls.minVersion = 'SSLv3';
      c.listeners[0].limits = { idleTimeout: 'forever' };
      c.virtualHosts[0].routes[0].matchh = {};
      c.clusters[0].tracing = true;
      c.tracing = { otlp: { endpoint: 'collector:4318' }, sampleRatio: 2 };
      c.listeners[0].proxyProtocol = 'yes';
    },
    errors: [
      'tracing.otlp.endpoint: expected an http(s) URL',
      'tracing.sampleRatio: must be at most 1',
      'listeners[0].tls.minVersion: expected one of TLSv1.2, TLSv1.3',
      'listeners[0].proxyProtocol: expected true or false, got the string "yes"',
      'listeners[0].limits.idleTimeout: invalid duration "forever" (use e.g. 250ms, 10s, 5m, 1h30m)',
      `${R0}.matchh: unknown key`,
      'clusters[0].tracing: unknown key',
    ],
  },
  {
    name: 'several semantic errors at once',
    mutate: (c) => {
      c.clusters[1].name = 'c0';
      c.clusters[1].tls.caFile = F.missing;
      c.virtualHosts[0].routes[0].route.cluster = 'nope';
    },
    errors: [
      'clusters[1].name: duplicate name "c0" (also clusters[0])',
      `${R0}.route.cluster: unknown cluster "nope"`,
      'clusters[1].tls.caFile: file not found',
    ],
  },
];

describe('config errors (exact messages)', () => {
  it('has a big enough table', () => assert.ok(rows.length >= 25));
  for (const row of rows) {
    it(row.name, async () => {
      let text = row.yaml;
      if (text === undefined) {
        const cfg = baseConfig();
        row.mutate?.(cfg);
        text = toYaml(cfg);
      }
      const r = await loadConfigText(text, row.env ?? {});
      assert.equal(r.ok, false, 'expected the config to be rejected');
      if (!r.ok) assert.deepEqual(r.errors.map(formatConfigError), row.errors);
    });
  }

  it('a missing config file', async () => {
    const file = path.join(dir, 'nope.yaml');
    const r = await loadConfigFile(file, {});
    assert.deepEqual(r, { ok: false, errors: [{ path: file, message: 'file not found' }] });
  });

  it('never throws on odd input', async () => {
    for (const text of ['a: *undefinedAlias', '!!binary x', '[', '{a: 1}: 2', 'listeners: !!map []', '\u0000', 'x: &a [*a]']) {
      const r = await loadConfigText(text, {});
      assert.equal(r.ok, false, text);
    }
  });
});
