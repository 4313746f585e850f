import pino from 'pino';
// The gateway's own log lines: JSON to stderr (access-log lines go to stdout, see access-log.ts).
// Nothing that could hold a token, cookie or key is ever passed to it.
export const log = pino({ name: 'gatehouse', level: process.env.GATEHOUSE_LOG_LEVEL ?? 'info', base: { pid: process.pid } }, pino.destination({ dest: 2, sync: true }));
