import { randomBytes } from 'node:crypto';
import type { Exchange } from '../exchange.ts';
import type { SpanExport } from './tracing/span-export.ts';

// W3C Trace Context (https://www.w3.org/TR/trace-context/), always on, without OpenTelemetry: a
// valid `traceparent` from the client is continued (same trace id and sampled flag, the gateway's
// own span as the new parent toward the upstream), and `tracestate` travels with it; an absent or
// malformed one is replaced by a new trace (version 00, random non-zero ids), and a `tracestate`
// without a valid `traceparent` is dropped, as the spec asks. Everything here is hand-built string
// work, so the request path costs the same whether span export (tracing/) is configured or not.

/** A parsed, valid incoming traceparent. */
export interface RemoteParent {
  readonly traceId: string;
  readonly spanId: string;
  /** Only the sampled bit (0 or 1): the other bits of version 00 are reserved and sent as zero. */
  readonly sampled: boolean;
}

/** tracestate is kept only within these bounds (W3C: at most 32 members; 512 characters is the size every vendor must carry). */
const TRACESTATE_MAX_CHARS = 512;
const TRACESTATE_MAX_MEMBERS = 32;

function isLowerHex(s: string, from: number, to: number): boolean {
  for (let i = from; i < to; i++) {
    const c = s.charCodeAt(i);
    if (!((c >= 0x30 && c <= 0x39) || (c >= 0x61 && c <= 0x66))) return false;
  }
  return true;
}

function allZero(s: string, from: number, to: number): boolean {
  for (let i = from; i < to; i++) if (s.charCodeAt(i) !== 0x30) return false;
  return true;
}

/**
 * `version-traceid-parentid-flags`. Version 00 is exactly 55 characters; a later version may be
 * longer (a '-' then more fields), and is read for its first four fields. Upper-case hex, all-zero
 * ids, version ff or a repeated header (node joins it with ", ") are invalid.
 */
export function parseTraceparent(v: string | string[] | undefined): RemoteParent | null {
  if (typeof v !== 'string' || v.length < 55) return null;
  if (v.charCodeAt(2) !== 0x2d || v.charCodeAt(35) !== 0x2d || v.charCodeAt(52) !== 0x2d) return null;
  if (!isLowerHex(v, 0, 2) || (v.charCodeAt(0) === 0x66 && v.charCodeAt(1) === 0x66)) return null;
  const version00 = v.charCodeAt(0) === 0x30 && v.charCodeAt(1) === 0x30;
  if (version00 ? v.length !== 55 : v.length > 55 && v.charCodeAt(55) !== 0x2d) return null;
  if (!isLowerHex(v, 3, 35) || allZero(v, 3, 35)) return null;
  if (!isLowerHex(v, 36, 52) || allZero(v, 36, 52)) return null;
  if (!isLowerHex(v, 53, 55)) return null;
  const flags = parseInt(v.slice(53, 55), 16);
  return { traceId: v.slice(3, 35), spanId: v.slice(36, 52), sampled: (flags & 1) === 1 };
}

/** The tracestate to pass on (repeated headers joined with ','), or null when absent or out of bounds. */
export function acceptTracestate(v: string | string[] | undefined): string | null {
  if (v === undefined) return null;
  const s = Array.isArray(v) ? v.join(',') : v;
  if (s.length === 0 || s.length > TRACESTATE_MAX_CHARS) return null;
  let members = 1;
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) === 0x2c) members++;
  return members > TRACESTATE_MAX_MEMBERS ? null : s;
}

// Ids come from a pre-filled random pool (one randomBytes call per 4 KiB), as request ids do.
const POOL_BYTES = 4096;
let pool = randomBytes(POOL_BYTES);
let at = 0;

function randomHex(bytes: number): string {
  for (;;) {
    if (at + bytes > POOL_BYTES) {
      pool = randomBytes(POOL_BYTES);
      at = 0;
    }
    const start = at;
    at += bytes;
    const hex = pool.toString('hex', start, start + bytes);
    if (!allZero(hex, 0, hex.length)) return hex; // W3C: an all-zero id is invalid
  }
}

export function newTraceId(): string {
  return randomHex(16);
}

export function newSpanId(): string {
  return randomHex(8);
}

export function formatTraceparent(traceId: string, spanId: string, sampled: boolean): string {
  return `00-${traceId}-${spanId}-${sampled ? '01' : '00'}`;
}

/**
 * Sets the exchange's trace context from the client's headers: the trace it continues (or a new
 * one) and the gateway's span in it. With span export configured, the server span does it (its ids
 * are the ones exported); without, ids are drawn here and nothing of OpenTelemetry is touched.
 */
export function startTrace(ex: Exchange, spans: SpanExport | null): void {
  const headers = ex.req.headers;
  const parent = parseTraceparent(headers.traceparent);
  if (parent !== null) ex.traceState = acceptTracestate(headers.tracestate);
  if (spans !== null) {
    spans.start(ex, parent);
    return;
  }
  ex.traceId = parent === null ? newTraceId() : parent.traceId;
  ex.spanId = newSpanId();
  ex.sampled = parent !== null && parent.sampled;
}
