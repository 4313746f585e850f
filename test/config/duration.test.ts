import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatDuration, parseDuration } from '../../src/config/duration.ts';

describe('parseDuration', () => {
  const good: Array<[string, number]> = [
    ['250ms', 250],
    ['10s', 10_000],
    ['5m', 300_000],
    ['24h', 86_400_000],
    ['1m30s', 90_000],
    ['1h30m', 5_400_000],
    ['1h2m3s4ms', 3_723_004],
    ['0s', 0],
    ['0ms', 0],
    ['1.5s', 1_500],
    ['1.1s', 1_100],
    ['0.5ms', 0.5],
  ];
  for (const [s, ms] of good) it(`${s} → ${ms}`, () => assert.equal(parseDuration(s), ms));

  const bad = ['', '10', '10 s', ' 10s', '10s ', '-1s', '+1s', '1d', '1S', 's', '1.s', '.5s', '1e3s', '1m30', '10sec', 'ms', '1h 30m', 'NaN s'];
  for (const s of bad) it(`${JSON.stringify(s)} → null`, () => assert.equal(parseDuration(s), null));

  it('rejects non-strings', () => assert.equal(parseDuration(10 as unknown as string), null));
});

describe('formatDuration', () => {
  for (const [ms, s] of [[0, '0s'], [250, '250ms'], [90_000, '1m30s'], [3_723_004, '1h2m3s4ms']] as const) {
    it(`${ms} → ${s}`, () => assert.equal(formatDuration(ms), s));
  }
});
