// Shared bits of the bench child processes: a JSON argument in, JSON lines out, and exit when the
// harness goes away (an orphaned worker must never keep a port or a core busy).

export function argJson<T>(): T {
  const raw = process.argv[2];
  if (!raw) throw new Error('expected one JSON argument');
  return JSON.parse(raw) as T;
}

export function emit(event: string, data: Record<string, unknown> = {}): void {
  process.stdout.write(JSON.stringify({ event, ...data }) + '\n');
}

/** Exits when the parent process is gone (re-parented) or on SIGTERM/SIGINT. */
export function exitWithParent(onExit: () => void = () => undefined): void {
  const parent = process.ppid;
  const timer = setInterval(() => {
    if (process.ppid !== parent) {
      onExit();
      process.exit(0);
    }
  }, 1000);
  timer.unref();
  for (const sig of ['SIGTERM', 'SIGINT'] as const) {
    process.once(sig, () => {
      onExit();
      process.exit(0);
    });
  }
}
