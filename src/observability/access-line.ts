import type { Exchange } from '../exchange.ts';
import { responseFlags } from './response-flags.ts';
import { JSON_ESCAPED_MAX, putAsciiJsonChars as putChars, putBytes, putOwnAscii } from '../util/json-ascii.ts';

// The access-log line of a finished exchange, encoded straight into the LineWriter's chunk: no
// string is built, so a line leaves no garbage behind. Built as a string (a rope of ~25 pieces, then
// flattened and encoded), each line allocated ~1.9 KB — 12 % more than the rest of the request
// (`--trace-gc-nvp`: 15.6 → 17.5 KB per request) — and cost about as much again in scavenges as in
// building it. The JSON is ASCII whatever it holds: a client's value has `"`, `\`, controls and
// anything above 0x7E escaped (\uXXXX is valid JSON for any character), so a line's size is bounded
// by `accessLineBound` before a byte is written.
//
// Only fields we choose are written — never request headers, never the query string — so tokens
// and cookies cannot leak into it. `time` is ISO 8601, the format of the process log (logger.ts).

const QUOTE = 0x22;

/** Text we wrote ourselves (keys, punctuation), as bytes made once. */
const k = (s: string): Uint8Array => Buffer.from(s, 'latin1');
const K_TIME = k('{"level":30,"time":"');
const K_REQUEST_ID = k('","requestId":"');
const K_TRACE_ID = k('","traceId":"');
const K_METHOD = k('","method":"');
const K_PATH = k('","path":"');
const K_AUTHORITY = k('","authority":"');
const K_PROTOCOL = k('","protocol":"');
const K_TLS = k('","tls":');
const K_CLIENT = k(',"client":"');
const K_STATUS = k('","status":');
const K_ROUTE = k(',"route":');
const K_CLUSTER = k(',"cluster":');
const K_ENDPOINT = k(',"endpoint":');
const K_ERROR = k(',"error":');
const K_FLAGS = k(',"flags":"');
const K_BYTES_IN = k('","bytesIn":');
const K_BYTES_OUT = k(',"bytesOut":');
const K_DURATION = k(',"durationMs":');
const K_UPSTREAM = k(',"upstreamMs":');
const K_RETRIES = k(',"retries":');
const K_NULL = k('null');
const K_END = k('}\n');

/** Our own keys, punctuation and numbers, at most (a line with every optional field). */
const FIXED_BOUND = 512;

/** `"s"` for text of the gateway's own (see putOwnAscii). */
function putQuotedOwnAscii(b: Buffer, o: number, s: string): number {
  b[o] = QUOTE;
  o = putOwnAscii(b, o + 1, s);
  b[o] = QUOTE;
  return o + 1;
}

/** A non-negative integer in decimal (null for anything else: a line must stay valid JSON). */
function putInt(b: Buffer, o: number, n: number): number {
  if (!(n >= 0 && n <= Number.MAX_SAFE_INTEGER)) return putBytes(b, o, K_NULL);
  n = Math.floor(n);
  let digits = 1;
  for (let t = n; t >= 10; t = Math.floor(t / 10)) digits++;
  const end = o + digits;
  for (let p = end - 1; p >= o; p--) {
    const q = Math.floor(n / 10);
    b[p] = 0x30 + (n - q * 10);
    n = q;
  }
  return end;
}

/** Milliseconds with three decimals, from integer microseconds (null when negative or unknown). */
function putMs(b: Buffer, o: number, v: number): number {
  const us = Math.round(v * 1000);
  if (!(us >= 0)) return putBytes(b, o, K_NULL);
  const whole = Math.floor(us / 1000);
  const frac = us - whole * 1000;
  o = putInt(b, o, whole);
  b[o] = 0x2e; // .
  b[o + 1] = 0x30 + Math.floor(frac / 100);
  b[o + 2] = 0x30 + (Math.floor(frac / 10) % 10);
  b[o + 3] = 0x30 + (frac % 10);
  return o + 4;
}

/**
 * The ISO time's 24 bytes, made once per millisecond (at thousands of requests a second most lines
 * share it) from a prefix made once per second: Date#toISOString at every millisecond measured ~2 %
 * of the gateway's CPU.
 */
const isoBytes = new Uint8Array(24); // "2026-11-30T13:49:30.123Z"
let isoMs = -1;
let isoSecond = -1;
function isoNow(): Uint8Array {
  const now = Date.now();
  if (now !== isoMs) {
    isoMs = now;
    const second = Math.floor(now / 1000);
    if (second !== isoSecond) {
      isoSecond = second;
      const prefix = new Date(second * 1000).toISOString(); // its first 20 characters: up to the '.'
      for (let i = 0; i < 20; i++) isoBytes[i] = prefix.charCodeAt(i);
    }
    const ms = now - second * 1000;
    isoBytes[20] = 0x30 + Math.floor(ms / 100);
    isoBytes[21] = 0x30 + (Math.floor(ms / 10) % 10);
    isoBytes[22] = 0x30 + (ms % 10);
    isoBytes[23] = 0x5a; // Z
  }
  return isoBytes;
}

/** Request body bytes: counted when the gateway read the body itself, else Content-Length once the request completed. */
function bytesIn(ex: Exchange): number {
  if (ex.bytesIn >= 0) return ex.bytesIn;
  const cl = ex.req.headers['content-length'];
  return cl !== undefined && ex.req.complete ? Number(cl) || 0 : 0;
}

/** Bytes `encodeAccessLine` may write for this exchange, at most. */
export function accessLineBound(ex: Exchange): number {
  const chars =
    ex.requestId.length + ex.traceId.length + (ex.req.method?.length ?? 0) + ex.path.length + ex.authority.length +
    ex.req.httpVersion.length + (ex.tlsVersion?.length ?? 0) + ex.clientIp.length + (ex.errorCode?.length ?? 0);
  const names = (ex.route?.nameJson.length ?? 0) + (ex.cluster?.nameJson.length ?? 0) + (ex.endpoint?.addressJson.length ?? 0);
  return FIXED_BOUND + JSON_ESCAPED_MAX * chars + names;
}

/**
 * Writes the line (pino-compatible: level 30, ISO time), with its newline, into `b` from `o`, which
 * has room for `accessLineBound(ex)` bytes; returns where it ended.
 */
export function encodeAccessLine(b: Buffer, o: number, ex: Exchange, status: number, durationMs: number): number {
  o = putBytes(b, o, K_TIME);
  o = putBytes(b, o, isoNow());
  o = putBytes(b, o, K_REQUEST_ID);
  o = putChars(b, o, ex.requestId);
  o = putBytes(b, o, K_TRACE_ID);
  o = putOwnAscii(b, o, ex.traceId);
  o = putBytes(b, o, K_METHOD);
  o = putChars(b, o, ex.req.method ?? '');
  if (ex.path) {
    o = putBytes(b, o, K_PATH);
    o = putChars(b, o, ex.path);
  }
  if (ex.authority) {
    o = putBytes(b, o, K_AUTHORITY);
    o = putChars(b, o, ex.authority);
  }
  o = putBytes(b, o, K_PROTOCOL);
  o = putOwnAscii(b, o, ex.req.httpVersion);
  o = putBytes(b, o, K_TLS);
  o = ex.tlsVersion === null ? putBytes(b, o, K_NULL) : putQuotedOwnAscii(b, o, ex.tlsVersion);
  o = putBytes(b, o, K_CLIENT);
  o = putChars(b, o, ex.clientIp);
  o = putBytes(b, o, K_STATUS);
  o = putInt(b, o, status);
  o = putBytes(b, o, K_ROUTE);
  o = putBytes(b, o, ex.route === null ? K_NULL : ex.route.nameJson);
  o = putBytes(b, o, K_CLUSTER);
  o = putBytes(b, o, ex.cluster === null ? K_NULL : ex.cluster.nameJson);
  o = putBytes(b, o, K_ENDPOINT);
  o = putBytes(b, o, ex.endpoint === null ? K_NULL : ex.endpoint.addressJson);
  o = putBytes(b, o, K_ERROR);
  o = ex.errorCode === null ? putBytes(b, o, K_NULL) : putQuotedOwnAscii(b, o, ex.errorCode);
  o = putBytes(b, o, K_FLAGS);
  o = putOwnAscii(b, o, responseFlags(ex));
  o = putBytes(b, o, K_BYTES_IN);
  o = putInt(b, o, bytesIn(ex));
  o = putBytes(b, o, K_BYTES_OUT);
  o = putInt(b, o, ex.bytesOut);
  o = putBytes(b, o, K_DURATION);
  o = putMs(b, o, durationMs);
  o = putBytes(b, o, K_UPSTREAM);
  o = ex.upstreamDurationMs >= 0 ? putMs(b, o, ex.upstreamDurationMs) : putBytes(b, o, K_NULL);
  if (ex.retries > 0) {
    o = putBytes(b, o, K_RETRIES);
    o = putInt(b, o, ex.retries);
  }
  return putBytes(b, o, K_END);
}
