import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { testPki, type TestPki } from '../helpers/pki.ts';
import { startUpstream, type TestUpstream } from '../helpers/upstream.ts';
import { startGateway, basicConfig, type TestGateway } from '../helpers/gateway.ts';
import { h1, h2 } from '../helpers/clients.ts';
import { eventually } from '../helpers/net.ts';
import { parseTraceparent, acceptTracestate } from '../../src/observability/trace-context.ts';
import { testTempDir } from '../helpers/tmp.ts';

// W3C trace context without span export (issue 9 item 12): a request without traceparent reaches
// the upstream with a new one (version 00, random non-zero ids); a valid one is continued with the
// gateway's own span as the new parent and its tracestate passed on; a malformed one is replaced
// and its tracestate dropped. Over HTTP/1.1 and HTTP/2, and the access log carries the trace id.

const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-(0[01])$/;

let pki: TestPki;
let up: TestUpstream;
let gw: TestGateway;
let logFile: string;

before(async () => {
  pki = await testPki();
  up = await startUpstream();
  logFile = join(testTempDir('gatehouse-trace-'), 'access.log');
  gw = await startGateway(`accessLog: { path: ${logFile} }\n${basicConfig(pki, { endpoint: up.address })}`);
});
after(async () => {
  await gw.close();
  await up.close();
});

/** The traceparent/tracestate the upstream saw for the request with this x-request-id. */
function seenBy(requestId: string): { traceparent: string | undefined; tracestate: string | undefined } {
  const s = up.seen.find((r) => r.headers['x-request-id'] === requestId);
  assert.ok(s, `the upstream saw ${requestId}`);
  return { traceparent: s.headers.traceparent as string | undefined, tracestate: s.headers.tracestate as string | undefined };
}

test('parseTraceparent accepts W3C version 00 (and later versions) and refuses malformed values', () => {
  const tid = '4bf92f3577b34da6a3ce929d0e0e4736';
  const sid = '00f067aa0ba902b7';
  assert.deepEqual(parseTraceparent(`00-${tid}-${sid}-01`), { traceId: tid, spanId: sid, sampled: true });
  assert.deepEqual(parseTraceparent(`00-${tid}-${sid}-00`), { traceId: tid, spanId: sid, sampled: false });
  assert.deepEqual(parseTraceparent(`01-${tid}-${sid}-03-extra`), { traceId: tid, spanId: sid, sampled: true }, 'a later version is read');
  for (const bad of [
    `00-${tid.toUpperCase()}-${sid}-01`, // upper-case hex
    `00-${'0'.repeat(32)}-${sid}-01`, // all-zero trace id
    `00-${tid}-${'0'.repeat(16)}-01`, // all-zero parent id
    `ff-${tid}-${sid}-01`, // forbidden version
    `00-${tid}-${sid}-01-extra`, // version 00 has exactly four fields
    `01-${tid}-${sid}-01x`, // a later version still needs '-' after the flags
    `00-${tid}-${sid}-0g`,
    `00-${tid}-${sid}`,
    `00-${tid}-${sid}-01, 00-${tid}-${sid}-01`, // two headers joined
    'garbage',
    '',
  ]) {
    assert.equal(parseTraceparent(bad), null, bad);
  }
  assert.equal(parseTraceparent(undefined), null);
  assert.equal(acceptTracestate('a=1,b=2'), 'a=1,b=2');
  assert.equal(acceptTracestate(['a=1', 'b=2']), 'a=1,b=2');
  assert.equal(acceptTracestate('x'.repeat(513)), null, 'over 512 characters: dropped');
  assert.equal(acceptTracestate(Array.from({ length: 33 }, (_, i) => `k${i}=v`).join(',')), null, 'over 32 members: dropped');
});

for (const proto of ['HTTP/1.1', 'HTTP/2'] as const) {
  const send = proto === 'HTTP/1.1' ? h1 : h2;
  const tag = proto === 'HTTP/1.1' ? 'h1' : 'h2'; // request ids allow [A-Za-z0-9._:-] only

  test(`${proto}: a request without traceparent reaches the upstream with a new one`, async () => {
    const ids: string[] = [];
    for (const n of [1, 2]) {
      const rid = `tc-new-${tag}-${n}`;
      const r = await send(pki, gw.httpsPort, '/new', { headers: { 'x-request-id': rid } });
      assert.equal(r.status, 200);
      const { traceparent } = seenBy(rid);
      const m = TRACEPARENT.exec(traceparent ?? '');
      assert.ok(m, `a version-00 traceparent was started: ${traceparent}`);
      assert.notEqual(m[1], '0'.repeat(32));
      assert.notEqual(m[2], '0'.repeat(16));
      ids.push(m[1]);
    }
    assert.notEqual(ids[0], ids[1], 'each request starts its own trace');
  });

  test(`${proto}: a valid traceparent is continued with the gateway's span as parent; tracestate passes`, async () => {
    const tid = '4bf92f3577b34da6a3ce929d0e0e4736';
    const clientSpan = '00f067aa0ba902b7';
    const rid = `tc-valid-${tag}`;
    const r = await send(pki, gw.httpsPort, '/continued', {
      headers: { 'x-request-id': rid, traceparent: `00-${tid}-${clientSpan}-01`, tracestate: 'vendor=abc,other=1' },
    });
    assert.equal(r.status, 200);
    const { traceparent, tracestate } = seenBy(rid);
    const m = TRACEPARENT.exec(traceparent ?? '');
    assert.ok(m, traceparent);
    assert.equal(m[1], tid, 'same trace');
    assert.notEqual(m[2], clientSpan, "the gateway's own span is the upstream's parent");
    assert.equal(m[3], '01', "the caller's sampled flag is kept");
    assert.equal(tracestate, 'vendor=abc,other=1');
  });

  test(`${proto}: a malformed traceparent is replaced and its tracestate dropped`, async () => {
    const bad = '00-4BF92F3577B34DA6A3CE929D0E0E4736-00F067AA0BA902B7-01';
    const rid = `tc-bad-${tag}`;
    const r = await send(pki, gw.httpsPort, '/malformed', { headers: { 'x-request-id': rid, traceparent: bad, tracestate: 'vendor=abc' } });
    assert.equal(r.status, 200);
    const { traceparent, tracestate } = seenBy(rid);
    const m = TRACEPARENT.exec(traceparent ?? '');
    assert.ok(m, `replaced by a valid one: ${traceparent}`);
    assert.notEqual(m[1], '4bf92f3577b34da6a3ce929d0e0e4736');
    assert.equal(m[3], '00', 'a new trace the gateway does not record is not marked sampled');
    assert.equal(tracestate, undefined, 'tracestate without a valid traceparent is dropped');
  });
}

test('the access log line carries the trace id the upstream saw', async () => {
  const rid = 'tc-log-1';
  assert.equal((await h1(pki, gw.httpsPort, '/logged', { headers: { 'x-request-id': rid } })).status, 200);
  const traceId = TRACEPARENT.exec(seenBy(rid).traceparent ?? '')![1];
  await eventually(() => existsSync(logFile) && readFileSync(logFile, 'utf8').includes(rid), 'the line is written');
  const line = readFileSync(logFile, 'utf8').trim().split('\n').map((l) => JSON.parse(l)).find((l) => l.requestId === rid);
  assert.equal(line.traceId, traceId);
});
