import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HostTable } from '../../src/router/host-table.ts';
import { compileHost } from '../helpers/router-fixtures.ts';

// Virtual host choice: port ignored, case-insensitive; exact, then the longest *.suffix, then *.

test('host lookup ignores the port and case; exact beats the longest suffix beats *', () => {
  const t = new HostTable();
  const mk = (name: string) => ({ ...compileHost([{ name, match: { prefix: '/' }, route: { cluster: 'a' } }]).vhost, name });
  const exact = mk('exact');
  const shortSuffix = mk('short');
  const longSuffix = mk('long');
  const star = mk('star');
  t.add('API.example.com', exact);
  t.add('*.example.com', shortSuffix);
  t.add('*.eu.example.com', longSuffix);
  t.add('*', star);
  const cases: Array<[string | undefined, string]> = [
    ['api.example.com', 'exact'],
    ['Api.Example.COM:8443', 'exact'],
    ['x.example.com', 'short'],
    ['x.eu.example.com:443', 'long'],
    ['example.com', 'star'],
    ['other.org', 'star'],
    ['[::1]:8443', 'star'],
    [undefined, 'star'],
  ];
  for (const [authority, expected] of cases) assert.equal(t.lookup(authority)?.name, expected, String(authority));
  const none = new HostTable();
  none.add('a.example.com', exact);
  assert.equal(none.lookup('b.example.com'), null);
});
