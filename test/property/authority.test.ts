import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { isValidAuthority } from '../../src/listener/request-target.ts';
import { hostWithoutPort } from '../../src/router/host-table.ts';

// The Host / :authority check (src/listener/request-target.ts) against RFC 3986's grammar: every
// `host [":" port]` built from the grammar is accepted, and is read back by the virtual-host lookup
// as the host it was built from; one character that cannot appear in an authority, put anywhere in
// it, makes it refused.

const label = fc.stringMatching(/^[a-zA-Z0-9](?:[a-zA-Z0-9_~-]{0,20}[a-zA-Z0-9])?$/);
const regName = fc.array(label, { minLength: 1, maxLength: 5 }).map((ls) => ls.join('.'));
const ipv4 = fc.ipV4();
const ipv6 = fc.ipV6().map((a) => `[${a}]`);
const host = fc.oneof(regName, ipv4, ipv6);
const port = fc.option(fc.integer({ min: 0, max: 65535 }).map(String), { nil: undefined });
const authority = fc.tuple(host, port).map(([h, p]) => ({ host: h, text: p === undefined ? h : `${h}:${p}` }));

/** Characters that never appear in an authority, whatever its form. */
const forbidden = fc.constantFrom('@', ' ', '\t', '/', '?', '#', '\\', '"', '<', '>', '^', '`', '{', '|', '}', '\u00e9', '\u0000', '\u007f', '\u2028');

test('every host[:port] of the grammar is accepted, and the lookup reads back its host', () => {
  fc.assert(
    fc.property(authority, ({ host: h, text }) => {
      assert.ok(isValidAuthority(text), text);
      const bare = h.startsWith('[') ? h.slice(1, -1) : h;
      assert.equal(hostWithoutPort(text), bare.toLowerCase());
    }),
    { numRuns: 2000 },
  );
});

test('one character that cannot be in an authority, anywhere, is refused', () => {
  fc.assert(
    fc.property(authority, forbidden, fc.nat(), ({ text }, bad, at) => {
      const i = at % (text.length + 1);
      const s = text.slice(0, i) + bad + text.slice(i);
      assert.equal(isValidAuthority(s), false, JSON.stringify(s));
    }),
    { numRuns: 2000 },
  );
});

test('the edges of the grammar', () => {
  // an empty port is the grammar's (port = *DIGIT)
  for (const ok of ['localhost', 'x.test:', '[::1]:', 'a%41b', "!$&'()*+,;=", '[::1]', '[::ffff:127.0.0.1]:8443', '127.0.0.1:0']) assert.ok(isValidAuthority(ok), ok);
  for (const bad of ['', ':443', 'a:1:2', 'host:8a', '[::1', '[]', '[::1]x', '[zz]', 'a%4', 'a%zz', 'user@host']) assert.equal(isValidAuthority(bad), false, bad);
});
