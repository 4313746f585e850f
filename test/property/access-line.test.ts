import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { accessLineBound, encodeAccessLine } from '../../src/observability/access-line.ts';
import type { Exchange } from '../../src/exchange.ts';
import { jsonStringBytes } from '../../src/util/json-ascii.ts';

// The access-log line is encoded byte by byte (src/observability/access-line.ts), not by a JSON
// serializer: whatever a client or an operator put in a field — quotes, backslashes, controls,
// any Unicode, lone surrogates — the line must parse as one JSON object with the same values, be
// ASCII, end with its newline, and stay within the bound reserved for it before a byte was written.

const tricky = fc.constantFrom('"', '\\', '\n', '\u0000', '\u007f', '\u00e9', '\u2028', '\ud800', '\udfff', '\u{1f600}');
// Mostly-plain text too, long and short: values of over 8 characters with nothing to escape take
// a native copy, the others the escaping loop (util/json-ascii.ts), and both must agree.
const plain = fc.string({ unit: fc.constantFrom(...'abcXYZ019/-_.:~ !#[]{}'), maxLength: 64 });
const anyText = fc.oneof(
  fc.string({ unit: fc.oneof(tricky, fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }), fc.string({ unit: 'binary-ascii', minLength: 1, maxLength: 1 })), maxLength: 40 }),
  plain,
  fc.tuple(plain, tricky, plain).map(([a, t, b]) => a + t + b),
);
const count = fc.oneof(fc.nat({ max: 1000 }), fc.maxSafeNat());
const millis = fc.oneof(fc.double({ min: 0, max: 1e7, noNaN: true }), fc.constant(-1));

const exchange = fc.record({
  requestId: anyText,
  traceId: fc.string({ unit: fc.constantFrom(...'0123456789abcdef'), minLength: 32, maxLength: 32 }),
  method: anyText,
  path: anyText,
  authority: anyText,
  httpVersion: fc.constantFrom('1.0', '1.1', '2.0'),
  tlsVersion: fc.option(fc.constantFrom('TLSv1.2', 'TLSv1.3'), { nil: null }),
  clientIp: anyText,
  route: fc.option(anyText, { nil: null }),
  cluster: fc.option(anyText, { nil: null }),
  endpoint: fc.option(anyText, { nil: null }),
  errorCode: fc.option(fc.constantFrom('upstream_timeout', 'route_not_found'), { nil: null }),
  bytesIn: fc.oneof(count, fc.constant(-1)),
  bytesOut: count,
  upstreamDurationMs: millis,
  retries: fc.nat({ max: 5 }),
  status: fc.constantFrom(0, 200, 404, 503),
  durationMs: millis,
});

test('every line is one ASCII JSON object holding exactly the values given, within its bound', () => {
  fc.assert(
    fc.property(exchange, (x) => {
      const ex = {
        requestId: x.requestId,
        traceId: x.traceId,
        req: { method: x.method, httpVersion: x.httpVersion, headers: {}, complete: true },
        path: x.path,
        authority: x.authority,
        tlsVersion: x.tlsVersion,
        clientIp: x.clientIp,
        route: x.route === null ? null : { name: x.route, nameJson: jsonStringBytes(x.route) },
        cluster: x.cluster === null ? null : { name: x.cluster, nameJson: jsonStringBytes(x.cluster) },
        endpoint: x.endpoint === null ? null : { address: x.endpoint, addressJson: jsonStringBytes(x.endpoint) },
        errorCode: x.errorCode,
        flags: 0,
        faultDelayMs: 0,
        clientClosed: false,
        bytesIn: x.bytesIn,
        bytesOut: x.bytesOut,
        upstreamDurationMs: x.upstreamDurationMs,
        retries: x.retries,
      } as unknown as Exchange;
      const bound = accessLineBound(ex);
      const buf = Buffer.alloc(bound + 16, 0xff);
      const before = Date.now();
      const end = encodeAccessLine(buf, 8, ex, x.status, x.durationMs);
      const after = Date.now();
      assert.ok(end - 8 <= bound, `${end - 8} bytes written, ${bound} reserved`);
      for (let i = 0; i < 8; i++) assert.equal(buf[i], 0xff, 'nothing is written before the offset');
      const bytes = buf.subarray(8, end);
      assert.ok(bytes.every((b) => b < 0x80), 'the line is ASCII');
      assert.equal(bytes[bytes.length - 1], 0x0a);
      const line = JSON.parse(bytes.toString('latin1'));
      assert.match(line.time, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
      const t = Date.parse(line.time);
      assert.ok(t >= before && t <= after, `time ${line.time} is when the line was written`);
      assert.equal(line.requestId, x.requestId);
      assert.equal(line.method, x.method);
      assert.equal(line.path, x.path === '' ? undefined : x.path);
      assert.equal(line.authority, x.authority === '' ? undefined : x.authority);
      assert.equal(line.client, x.clientIp);
      assert.equal(line.tls, x.tlsVersion);
      assert.equal(line.route, x.route);
      assert.equal(line.cluster, x.cluster);
      assert.equal(line.endpoint, x.endpoint);
      assert.equal(line.error, x.errorCode);
      assert.equal(line.status, x.status);
      assert.equal(line.bytesIn, x.bytesIn === -1 ? 0 : x.bytesIn);
      assert.equal(line.bytesOut, x.bytesOut);
      assert.equal(line.retries, x.retries > 0 ? x.retries : undefined);
      const ms = (v: number) => (v < 0 ? null : Math.round(v * 1000) / 1000);
      assert.equal(line.durationMs, ms(x.durationMs));
      assert.equal(line.upstreamMs, ms(x.upstreamDurationMs));
    }),
    { numRuns: 3000 },
  );
});
