import pino from 'pino';

// The gateway's own log lines: JSON to stderr (access-log lines go to stdout, see access-log.ts).
// Nothing that could hold a token, cookie or key is ever passed to it. `time` is ISO 8601, as in
// the access log, so both read and sort the same.
export const log = pino(
  {
    name: 'gatehouse',
    level: process.env.GATEHOUSE_LOG_LEVEL ?? 'info',
    base: { pid: process.pid },
    timestamp: pino.stdTimeFunctions.isoTime,
  },
  pino.destination({ dest: 2, sync: true }),
);
export type Logger = typeof log;
