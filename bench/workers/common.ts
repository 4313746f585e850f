import { readFileSync } from 'node:fs';
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

export interface VarySpec {
  name: string;
  prefix: string;
  file: string;
  start: number;
}

/**
 * One header value per request, cycled through the lines of `spec.file` from line `spec.start`
 * (e.g. distinct tokens). `report()` says where the next run should continue.
 */
export class HeaderCycler {
  private readonly values: string[];
  private next: number;
  built = 0; // requests built with a varied header (warm-up included)

  constructor(private readonly spec: VarySpec) {
    this.values = readFileSync(spec.file, 'utf8').split('\n').filter(Boolean);
    if (this.values.length === 0) throw new Error(`${spec.file}: no values`);
    this.next = spec.start % this.values.length;
  }

  value(): string {
    const v = this.spec.prefix + this.values[this.next]!;
    this.next = this.next + 1 === this.values.length ? 0 : this.next + 1;
    this.built++;
    return v;
  }

  report(): { varyNext: number; varyBuilt: number } {
    return { varyNext: (this.spec.start + this.built) % this.values.length, varyBuilt: this.built };
  }
}
