import { test } from 'node:test';
import assert from 'node:assert/strict';
import { soak } from './soak.ts';

// The soak run of `npm run soak`, bounded for CI: every fault is injected once under mixed traffic
// (HTTP/1.1, HTTP/2, WebSocket, authn, limits, canary split, mTLS) and nothing unexpected may reach a
// client; the memory check runs at the end.

test('soak (bounded): mixed traffic through every scheduled fault, no unexpected answer, no leak', async () => {
  const r = await soak(30_000, () => undefined);
  assert.equal(r.unexpected, 0, `unexpected answers: ${r.unexpectedSamples.join(' | ')}`);
  assert.equal(r.leak, null);
  assert.ok(r.faults.length >= 8, `every fault was injected: ${r.faults.join(', ')}`);
  assert.ok((r.byClass['2xx'] ?? 0) > 1000, JSON.stringify(r.byClass));
  assert.ok((r.byClass['4xx'] ?? 0) > 0, 'the tight limit answered 429s');
  assert.ok(r.websocket.sessions > 10);
});
