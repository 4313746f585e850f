import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import * as pp from 'proxy-protocol-js';
import { parseProxyHeader, V1_MAX_BYTES, type ProxyHeader } from '../../src/listener/proxy-protocol.ts';
import { proxyV1, proxyV2, V2_SIGNATURE } from '../helpers/proxy-protocol.ts';

// The PROXY protocol parser on its own: the spec's examples, every broken shape we could think of,
// and property tests (fast-check) against two independent encoders — our byte-by-byte helper and
// proxy-protocol-js's builder — fed in arbitrary pieces, plus arbitrary bytes that must never throw.

const CLIENT_HELLO = Buffer.from('160301020001', 'hex');

function ok(h: ProxyHeader) {
  assert.equal(h.kind, 'ok', JSON.stringify(h));
  return h as Extract<ProxyHeader, { kind: 'ok' }>;
}

describe('PROXY protocol v1', () => {
  it('TCP4 and TCP6, with the TLS bytes after the header left alone', () => {
    const head = proxyV1('TCP4', '203.0.113.7', '10.0.0.1', 51234, 443);
    const h = ok(parseProxyHeader(Buffer.concat([head, CLIENT_HELLO])));
    assert.deepEqual([h.version, h.command, h.length], [1, 'proxy', head.length]);
    assert.deepEqual(h.source, { address: '203.0.113.7', port: 51234 });
    assert.deepEqual(h.destination, { address: '10.0.0.1', port: 443 });

    const six = ok(parseProxyHeader(proxyV1('TCP6', '2001:DB8:0:0:0:0:0:1', '::1', 1, 65535)));
    assert.deepEqual(six.source, { address: '2001:db8::1', port: 1 }, 'one spelling for an IPv6 address');
    const mapped = ok(parseProxyHeader(proxyV1('TCP6', '::ffff:198.51.100.9', '::1', 1, 2)));
    assert.equal(mapped.source?.address, '198.51.100.9');
  });

  it('UNKNOWN is accepted without an address (the socket peer stands)', () => {
    const h = ok(parseProxyHeader(Buffer.from('PROXY UNKNOWN ffff::1 ffff::2 1 2\r\n')));
    assert.equal(h.source, null);
    assert.equal(ok(parseProxyHeader(Buffer.from('PROXY UNKNOWN\r\n'))).length, 15);
  });

  it('incomplete until the CRLF, refused when longer than 107 bytes', () => {
    const head = proxyV1('TCP4', '1.2.3.4', '5.6.7.8', 1, 2);
    for (let n = 1; n < head.length; n++) assert.equal(parseProxyHeader(head.subarray(0, n)).kind, 'incomplete', `prefix ${n}`);
    const long = Buffer.from(`PROXY UNKNOWN ${'x'.repeat(100)}\r\n`);
    assert.ok(long.length > V1_MAX_BYTES);
    assert.equal(parseProxyHeader(long).kind, 'invalid');
    assert.equal(parseProxyHeader(long.subarray(0, V1_MAX_BYTES)).kind, 'invalid', 'no CRLF within 107 bytes');
  });

  for (const [name, line] of [
    ['unknown protocol', 'PROXY TCP5 1.2.3.4 5.6.7.8 1 2'],
    ['IPv6 under TCP4', 'PROXY TCP4 ::1 ::1 1 2'],
    ['IPv4 under TCP6', 'PROXY TCP6 1.2.3.4 5.6.7.8 1 2'],
    ['a name for an address', 'PROXY TCP4 example.com 5.6.7.8 1 2'],
    ['an octet above 255', 'PROXY TCP4 1.2.3.256 5.6.7.8 1 2'],
    ['a port above 65535', 'PROXY TCP4 1.2.3.4 5.6.7.8 65536 2'],
    ['a port with a leading zero', 'PROXY TCP4 1.2.3.4 5.6.7.8 080 2'],
    ['a negative port', 'PROXY TCP4 1.2.3.4 5.6.7.8 -1 2'],
    ['a missing field', 'PROXY TCP4 1.2.3.4 5.6.7.8 1'],
    ['two spaces', 'PROXY TCP4  1.2.3.4 5.6.7.8 1 2'],
    ['lower case', 'proxy TCP4 1.2.3.4 5.6.7.8 1 2'],
  ]) {
    it(`refuses ${name}`, () => assert.equal(parseProxyHeader(Buffer.from(`${line}\r\n`)).kind, 'invalid'));
  }
});

describe('PROXY protocol v2', () => {
  const src = { address: '198.51.100.20', port: 40000 };
  const dst = { address: '10.1.2.3', port: 8443 };

  it('AF_INET and AF_INET6 sources, an IPv4-mapped source read as IPv4', () => {
    const v4 = proxyV2({ source: src, destination: dst });
    const h = ok(parseProxyHeader(Buffer.concat([v4, CLIENT_HELLO])));
    assert.deepEqual([h.version, h.command, h.length, h.source, h.destination], [2, 'proxy', v4.length, src, dst]);
    const v6 = ok(parseProxyHeader(proxyV2({ source: { address: '2001:db8::7', port: 1 }, destination: { address: '2001:db8::1', port: 443 } })));
    assert.deepEqual(v6.source, { address: '2001:db8::7', port: 1 });
    const mapped = ok(parseProxyHeader(proxyV2({ family: 2, source: { address: '::ffff:c633:6414', port: 5 }, destination: { address: '::1', port: 6 } })));
    assert.equal(mapped.source?.address, '198.51.100.20');
  });

  it('LOCAL (the LB health-checking) is accepted with no address, whatever follows', () => {
    const h = ok(parseProxyHeader(proxyV2({ command: 'local' })));
    assert.deepEqual([h.command, h.source, h.length], ['local', null, 16]);
    const withBlock = proxyV2({ command: 'local', source: src, destination: dst });
    assert.equal(ok(parseProxyHeader(withBlock)).length, withBlock.length);
  });

  it('AF_UNSPEC and AF_UNIX are accepted with no address', () => {
    assert.equal(ok(parseProxyHeader(proxyV2({ family: 0 }))).source, null);
    assert.equal(ok(parseProxyHeader(proxyV2({ family: 3 }))).source, null);
  });

  it('TLVs are skipped whole: AWS VPC endpoint id, Azure link id, CRC, NOOP, unknown types', () => {
    const tlvs = [
      { type: 0xea, value: Buffer.concat([Buffer.from([0x01]), Buffer.from('vpce-0123456789abcdef0')]) }, // PP2_TYPE_AWS
      { type: 0xee, value: Buffer.from([0x01, 1, 2, 3, 4]) }, // PP2_TYPE_AZURE
      { type: 0x03, value: Buffer.from([0, 0, 0, 0]) }, // PP2_TYPE_CRC32C (not checked)
      { type: 0x04, value: Buffer.alloc(7) }, // PP2_TYPE_NOOP
      { type: 0x7f, value: Buffer.alloc(300, 0xff) },
    ];
    const head = proxyV2({ source: src, destination: dst, tlvs });
    const h = ok(parseProxyHeader(Buffer.concat([head, CLIENT_HELLO])));
    assert.equal(h.length, head.length);
    assert.deepEqual(h.source, src);
  });

  it('incomplete until the declared length has arrived', () => {
    const head = proxyV2({ source: src, destination: dst, tlvs: [{ type: 0x04, value: Buffer.alloc(40) }] });
    for (let n = 1; n < head.length; n++) assert.equal(parseProxyHeader(head.subarray(0, n)).kind, 'incomplete', `prefix ${n}`);
  });

  it('refuses a wrong version, an unknown command or family, and addresses longer than the length', () => {
    assert.equal(parseProxyHeader(proxyV2({ source: src, destination: dst, version: 1 })).kind, 'invalid');
    const badCommand = proxyV2({ source: src, destination: dst });
    badCommand[12] = 0x22;
    assert.equal(parseProxyHeader(badCommand).kind, 'invalid');
    const badFamily = proxyV2({ source: src, destination: dst });
    badFamily[13] = 0x41;
    assert.equal(parseProxyHeader(badFamily).kind, 'invalid');
    const short = proxyV2({ source: src, destination: dst });
    short.writeUInt16BE(8, 14); // AF_INET needs 12
    assert.equal(parseProxyHeader(short.subarray(0, 24)).kind, 'invalid');
  });

  it('refuses what is not a PROXY header: a TLS ClientHello, an HTTP request, a broken signature', () => {
    assert.equal(parseProxyHeader(CLIENT_HELLO).kind, 'invalid');
    assert.equal(parseProxyHeader(Buffer.from('GET / HTTP/1.1\r\n')).kind, 'invalid');
    const sig = Buffer.from(V2_SIGNATURE);
    sig[11] = 0x0b;
    assert.equal(parseProxyHeader(sig).kind, 'invalid');
  });
});

describe('PROXY protocol, properties (fast-check)', () => {
  const ipv4 = fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(255));
  const ipv6 = fc.array(fc.nat(255), { minLength: 16, maxLength: 16 }).filter((b) => !(b.slice(0, 10).every((x) => x === 0) && b[10] === 0xff && b[11] === 0xff));
  const port = fc.nat(65535);
  const payload = fc.uint8Array({ maxLength: 64 });

  /** Feeds `bytes` in the given cut points; every proper prefix of the header must be incomplete. */
  function streamed(bytes: Buffer, headerLength: number, cuts: number[]): ProxyHeader {
    const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
    for (const p of points) if (p < headerLength) assert.equal(parseProxyHeader(bytes.subarray(0, p)).kind, 'incomplete', `prefix ${p}`);
    return parseProxyHeader(bytes);
  }

  it('v1 from proxy-protocol-js, cut anywhere: incomplete, then the same client', () => {
    fc.assert(
      fc.property(ipv4, ipv4, port, port, payload, fc.array(fc.nat(200)), (s, d, sp, dp, rest, cuts) => {
        const head = Buffer.from(
          new pp.V1ProxyProtocol(pp.INETProtocol.TCP4, new pp.Peer(s.join('.'), sp), new pp.Peer(d.join('.'), dp)).build(),
          'latin1',
        );
        const h = ok(streamed(Buffer.concat([head, rest]), head.length, cuts));
        assert.equal(h.length, head.length);
        assert.deepEqual(h.source, { address: s.join('.'), port: sp });
      }),
      { numRuns: 300 },
    );
  });

  it('v2 AF_INET/AF_INET6 from proxy-protocol-js, cut anywhere: incomplete, then the same client', () => {
    fc.assert(
      fc.property(fc.boolean(), ipv4, ipv4, ipv6, ipv6, port, port, payload, fc.array(fc.nat(200)), (v6, s4, d4, s6, d6, sp, dp, rest, cuts) => {
        const addr = v6
          ? new pp.IPv6ProxyAddress(pp.IPv6Address.createFrom(s6), sp, pp.IPv6Address.createFrom(d6), dp)
          : new pp.IPv4ProxyAddress(pp.IPv4Address.createFrom(s4), sp, pp.IPv4Address.createFrom(d4), dp);
        const head = Buffer.from(new pp.V2ProxyProtocol(pp.Command.PROXY, pp.TransportProtocol.STREAM, addr).build());
        const h = ok(streamed(Buffer.concat([head, rest]), head.length, cuts));
        assert.equal(h.length, head.length);
        assert.equal(h.source?.port, sp);
        if (!v6) assert.equal(h.source?.address, s4.join('.'));
        else assert.equal(Buffer.from(s6).toString('hex'), expandV6(h.source!.address));
      }),
      { numRuns: 300 },
    );
  });

  it('v2 with random TLVs: the header ends exactly where its length says', () => {
    const tlv = fc.record({ type: fc.nat(255), value: fc.uint8Array({ maxLength: 80 }).map((u) => Buffer.from(u)) });
    fc.assert(
      fc.property(ipv4, port, fc.array(tlv, { maxLength: 6 }), payload, (s, sp, tlvs, rest) => {
        const head = proxyV2({ source: { address: s.join('.'), port: sp }, destination: { address: '10.0.0.1', port: 443 }, tlvs });
        const h = ok(parseProxyHeader(Buffer.concat([head, rest])));
        assert.equal(h.length, head.length);
        assert.deepEqual(h.source, { address: s.join('.'), port: sp });
      }),
      { numRuns: 300 },
    );
  });

  it('arbitrary bytes never throw; a verdict never changes as more bytes arrive', () => {
    const start = fc.oneof(
      fc.constant(Buffer.alloc(0)),
      fc.constant(V2_SIGNATURE),
      fc.constant(Buffer.from('PROXY ')),
      fc.constant(Buffer.from('PROXY TCP4 ')),
    );
    fc.assert(
      fc.property(start, fc.uint8Array({ maxLength: 300 }), fc.uint8Array({ maxLength: 64 }), (prefix, body, more) => {
        const a = Buffer.concat([prefix, body]);
        const first = parseProxyHeader(a);
        assert.ok(['incomplete', 'invalid', 'ok'].includes(first.kind));
        const later = parseProxyHeader(Buffer.concat([a, more]));
        if (first.kind === 'invalid') assert.equal(later.kind, 'invalid');
        if (first.kind === 'ok') {
          assert.deepEqual(later, first);
          assert.ok(first.length <= a.length);
        }
      }),
      { numRuns: 2000 },
    );
  });
});

function expandV6(addr: string): string {
  const [head, tail = ''] = addr.split('::');
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const groups = addr.includes('::') ? [...h, ...Array(8 - h.length - t.length).fill('0'), ...t] : h;
  return groups.map((g) => g.padStart(4, '0')).join('');
}
