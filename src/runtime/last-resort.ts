import { log } from '../observability/logger.ts';

// The last line of defence behind "the process never crashes on any input": an error that escaped
// every handler costs the request (or timer) it came from, is logged with its stack, and the
// gateway keeps serving. Node's default would exit and drop every connection of every client.
// Only the error's message and stack are logged: no request data reaches this path.

let installed = false;

export function installLastResortHandlers(): void {
  if (installed) return;
  installed = true;
  process.on('unhandledRejection', (reason) => {
    const e = reason instanceof Error ? reason : new Error(String(reason));
    log.error({ err: { message: e.message, stack: e.stack } }, 'unhandled promise rejection (kept serving)');
  });
  process.on('uncaughtException', (err) => {
    log.error({ err: { message: err.message, stack: err.stack } }, 'uncaught exception (kept serving)');
  });
}
