import pino from 'pino';

// The control plane's log: JSON lines on stderr, like the gateway's (its own logger: the control
// plane shares no runtime module with the gateway). Never given a token or a key.
export const log = pino(
  { name: 'gatehouse-control-plane', level: process.env.GATEHOUSE_LOG_LEVEL ?? 'info', base: { pid: process.pid } },
  pino.destination({ dest: 2, sync: true }),
);
export type Logger = typeof log;
