import { log } from './logger.ts';
import { LineWriter } from './line-writer.ts';
import type { Exchange } from '../exchange.ts';
import type { AccessLogConfig } from '../config/schema.ts';
import { responseFlags } from './response-flags.ts';

// One JSON line per request (SPEC Observability). Only fields we choose are written — never request
// headers, never the query string — so tokens and cookies cannot leak into it. The line is built by
// hand (a generic serializer cost ~4 % of the proxy's CPU) and handed to a LineWriter, which encodes
// it once into a chunk written off the event loop (pino's sonic-boom measured its whole pending
// string again at every line: ~10 % of the proxy's CPU at 12k req/s). Values a client chose go
// through JSON.stringify; names an operator chose (route, cluster, endpoint) were JSON-encoded once
// when the config was compiled; the rest are ours (numbers, hex ids, ids checked against
// [A-Za-z0-9._:-], our error codes and flags).
// `time` is ISO 8601, the same format as the process log (logger.ts).

const str = JSON.stringify;

/** "000" … "999": the millisecond and microsecond digits, as strings made once. */
const DIGITS3 = Array.from({ length: 1000 }, (_, i) => String(i).padStart(3, '0'));

/**
 * The ISO time, made once per millisecond (at thousands of requests a second most lines share it)
 * from a prefix made once per second: Date#toISOString at every millisecond measured ~2 % of the
 * gateway's CPU.
 */
let isoMs = 0;
let isoText = '';
let isoSecond = -1;
let isoPrefix = ''; // "2026-11-30T13:49:30."
function isoNow(): string {
  const now = Date.now();
  if (now !== isoMs) {
    isoMs = now;
    const second = Math.floor(now / 1000);
    if (second !== isoSecond) {
      isoSecond = second;
      isoPrefix = new Date(second * 1000).toISOString().slice(0, 20);
    }
    isoText = `${isoPrefix}${DIGITS3[now - second * 1000]}Z`;
  }
  return isoText;
}

/**
 * Milliseconds with three decimals, as JSON. Formatted from integer microseconds: turning a double
 * into its shortest decimal text costs ~10× an integer's, and every line has two.
 */
function ms(v: number): string {
  const us = Math.round(v * 1000);
  if (!(us >= 0)) return 'null';
  const whole = Math.floor(us / 1000);
  return `${whole}.${DIGITS3[us - whole * 1000]}`;
}

/** Request body bytes: counted when the gateway read the body itself, else Content-Length once the request completed. */
function bytesIn(ex: Exchange): number {
  if (ex.bytesIn >= 0) return ex.bytesIn;
  const cl = ex.req.headers['content-length'];
  return cl !== undefined && ex.req.complete ? Number(cl) || 0 : 0;
}

/** The access-log line of a finished exchange, with its newline (pino-compatible: level 30, ISO time). */
export function accessLine(ex: Exchange, status: number, durationMs: number): string {
  const tls = ex.tlsVersion;
  const method = ex.req.method;
  return (
    `{"level":30,"time":"${isoNow()}","requestId":"${ex.requestId}","traceId":"${ex.traceId}"` +
    `,"method":${method === 'GET' ? '"GET"' : str(method ?? '')}` +
    (ex.path ? `,"path":${str(ex.path)}` : '') +
    (ex.authority ? `,"authority":${str(ex.authority)}` : '') +
    `,"protocol":"${ex.req.httpVersion}","tls":${tls === null ? 'null' : `"${tls}"`},"client":${str(ex.clientIp)},"status":${status}` +
    `,"route":${ex.route ? ex.route.nameJson : 'null'},"cluster":${ex.cluster ? ex.cluster.nameJson : 'null'}` +
    `,"endpoint":${ex.endpoint ? ex.endpoint.addressJson : 'null'},"error":${ex.errorCode === null ? 'null' : `"${ex.errorCode}"`}` +
    `,"flags":"${responseFlags(ex)}","bytesIn":${bytesIn(ex)},"bytesOut":${ex.bytesOut}` +
    `,"durationMs":${ms(durationMs)},"upstreamMs":${ex.upstreamDurationMs >= 0 ? ms(ex.upstreamDurationMs) : 'null'}` +
    (ex.retries > 0 ? `,"retries":${ex.retries}` : '') +
    '}\n'
  );
}

export interface AccessLog {
  write(ex: Exchange, status: number, durationMs: number): void;
  close(): void;
}

const OFF: AccessLog = { write: () => undefined, close: () => undefined };

/** `path`: stdout | stderr | off | a file; `sample2xx`: the share of 2xx lines kept (others always are). */
export function createAccessLog(cfg: AccessLogConfig | undefined): AccessLog {
  const path = cfg?.path;
  if (path === undefined || path === 'off') return OFF;
  const sample = cfg?.sample2xx ?? 1;
  // Lines are gathered into 256 KiB writes (one system call for ~600 lines), and whatever is
  // gathered is written at least every 250 ms, so a quiet gateway's log is never further behind;
  // close() writes the rest. A disk that cannot keep up costs lines (counted, warned), not memory.
  const onError = (err: Error) => log.warn({ accessLog: path, err: err.message }, 'access log: lines lost');
  const dest = path === 'stdout' || path === 'stderr' ? LineWriter.toFd(path === 'stdout' ? 1 : 2, { onError }) : LineWriter.toFile(path, { onError });
  return {
    write(ex: Exchange, status: number, durationMs: number): void {
      if (sample < 1 && status >= 200 && status < 300 && Math.random() >= sample) return;
      dest.write(accessLine(ex, status, durationMs));
    },
    close(): void {
      dest.close(); // writes what is left, then releases a file's descriptor
    },
  };
}
