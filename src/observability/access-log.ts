import { log } from './logger.ts';
import { LineWriter } from './line-writer.ts';
import type { Exchange } from '../exchange.ts';
import type { AccessLogConfig } from '../config/schema.ts';
import { accessLineBound, encodeAccessLine } from './access-line.ts';

// One JSON line per request (SPEC Observability), encoded by access-line.ts straight into a
// LineWriter chunk, which goes out in one write(2) off the event loop (pino's sonic-boom measured
// its whole pending string again at every line: ~10 % of the proxy's CPU at 12k req/s).

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
      const buf = dest.claim(accessLineBound(ex));
      if (buf !== null) dest.commit(encodeAccessLine(buf, dest.claimedAt, ex, status, durationMs));
    },
    close(): void {
      dest.close(); // writes what is left, then releases a file's descriptor
    },
  };
}
