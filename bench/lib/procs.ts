import { spawn, spawnSync, type ChildProcess, type StdioOptions } from 'node:child_process';
import { openSync, closeSync, readFileSync, existsSync } from 'node:fs';
import { createInterface } from 'node:readline';

// Child processes of one bench run: spawned (optionally pinned with `taskset -c`), re-pinned between
// measurements, and all stopped at the end — also on error and Ctrl-C. Only processes started here
// are ever signalled, by pid.

export function which(cmd: string): string | null {
  const r = spawnSync('sh', ['-c', `command -v ${cmd}`], { encoding: 'utf8' });
  const path = r.status === 0 ? r.stdout.trim() : '';
  return path || null;
}

export const TASKSET = which('taskset');

interface Tracked {
  readonly name: string;
  readonly child: ChildProcess;
  exited: boolean;
}

export interface SpawnOptions {
  cwd: string;
  /** CPU to pin to with `taskset -c` (when taskset exists), or null. */
  cpu: number | null;
  /** File receiving stderr (and stdout unless `pipeStdout`). */
  logFile: string;
  /** Keep stdout as a pipe (line protocol of the bench workers). */
  pipeStdout?: boolean;
  env?: NodeJS.ProcessEnv;
}

export class Processes {
  private readonly tracked = new Map<number, Tracked>();
  private stopping = false;

  spawn(name: string, command: string, args: string[], o: SpawnOptions): ChildProcess {
    if (this.stopping) throw new Error('stopping: no new processes');
    const fd = openSync(o.logFile, 'a');
    const stdio: StdioOptions = ['ignore', o.pipeStdout ? 'pipe' : fd, fd];
    const [cmd, argv] = o.cpu !== null && TASKSET ? [TASKSET, ['-c', String(o.cpu), command, ...args]] : [command, args];
    const child = spawn(cmd, argv, { cwd: o.cwd, stdio, env: o.env ?? process.env });
    closeSync(fd);
    if (child.pid === undefined) throw new Error(`could not start ${name} (${command})`);
    const t: Tracked = { name, child, exited: false };
    this.tracked.set(child.pid, t);
    child.once('exit', () => {
      t.exited = true;
      this.tracked.delete(child.pid!);
    });
    child.on('error', () => undefined);
    return child;
  }

  /** `node --import tsx FILE ARGS…` (taskset execs node, so the pid is node's). */
  spawnTs(name: string, file: string, args: string[], o: SpawnOptions): ChildProcess {
    return this.spawn(name, process.execPath, ['--import', 'tsx', file, ...args], o);
  }

  /** Moves every thread of `pid` to `cpu`. */
  pin(pid: number, cpu: number | null): void {
    if (cpu === null || !TASKSET) return;
    spawnSync(TASKSET, ['-a', '-p', '-c', String(cpu), String(pid)], { stdio: 'ignore' });
  }

  isRunning(pid: number): boolean {
    return this.tracked.has(pid);
  }

  /** SIGTERM to every process still running, SIGKILL to those left after `graceMs`. */
  async stopAll(graceMs = 3000): Promise<void> {
    this.stopping = true;
    await Promise.all([...this.tracked.values()].map((t) => stopTracked(t, graceMs)));
  }

  /** SIGTERM to one process (SIGKILL after `graceMs`); resolves when it has exited. */
  async stop(pid: number, graceMs = 3000): Promise<void> {
    const t = this.tracked.get(pid);
    if (t !== undefined) await stopTracked(t, graceMs);
  }

  /** Last resort from a synchronous 'exit' handler. */
  killAllNow(): void {
    for (const t of this.tracked.values()) {
      try {
        t.child.kill('SIGKILL');
      } catch {
        /* already gone */
      }
    }
  }
}

function stopTracked(t: Tracked, graceMs: number): Promise<void> {
  return new Promise<void>((resolve) => {
    if (t.exited) return resolve();
    const timer = setTimeout(() => {
      try {
        t.child.kill('SIGKILL');
      } catch {
        /* already gone */
      }
      resolve();
    }, graceMs);
    t.child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    try {
      t.child.kill('SIGTERM');
    } catch {
      clearTimeout(timer);
      resolve();
    }
  });
}

/** Calls `onLine` for every line the child writes to stdout (which must be a pipe). */
export function onLines(child: ChildProcess, onLine: (line: string) => void): void {
  if (!child.stdout) throw new Error('stdout is not a pipe');
  createInterface({ input: child.stdout }).on('line', onLine);
}

/** Waits for the first JSON line with `event === want` on stdout; rejects if the child exits first. */
export function waitForEvent<T = Record<string, unknown>>(child: ChildProcess, want: string, timeoutMs: number, what: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => fail(new Error(`${what}: no "${want}" within ${timeoutMs} ms`)), timeoutMs);
    const onExit = (code: number | null, sig: string | null) => fail(new Error(`${what}: exited (${sig ?? code}) before "${want}"`));
    function fail(err: Error): void {
      clearTimeout(timer);
      child.off('exit', onExit);
      reject(err);
    }
    child.once('exit', onExit);
    onLines(child, (line) => {
      let msg: any;
      try {
        msg = JSON.parse(line);
      } catch {
        return;
      }
      if (msg?.event === want) {
        clearTimeout(timer);
        child.off('exit', onExit);
        resolve(msg as T);
      }
    });
  });
}

// ───────────────────────────── /proc readings ─────────────────────────────

let clkTck: number | null = null;
function ticksPerSecond(): number {
  if (clkTck === null) {
    const r = spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' });
    const n = Number(r.stdout?.trim());
    clkTck = Number.isFinite(n) && n > 0 ? n : 100;
  }
  return clkTck;
}

/** User + system CPU seconds of a process (all its threads), or null when it is gone. */
export function cpuSeconds(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may contain spaces; fields after the closing paren are fixed.
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const utime = Number(rest[11]);
    const stime = Number(rest[12]);
    return (utime + stime) / ticksPerSecond();
  } catch {
    return null;
  }
}

/** VmRSS and VmHWM (peak) in MB, or nulls when /proc is not there. */
export function memoryMB(pid: number): { rssMB: number | null; hwmMB: number | null } {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (key: string) => {
      const m = new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status);
      return m ? Math.round((Number(m[1]) / 1024) * 10) / 10 : null;
    };
    return { rssMB: kb('VmRSS'), hwmMB: kb('VmHWM') };
  } catch {
    return { rssMB: null, hwmMB: null };
  }
}

export const HAS_PROC = existsSync('/proc/self/stat');

/** The last `n` lines of a log file (for error messages). */
export function tail(file: string, n = 20): string {
  try {
    const lines = readFileSync(file, 'utf8').trimEnd().split('\n');
    return lines.slice(-n).join('\n');
  } catch {
    return '(no log)';
  }
}

/** CPU seconds the whole machine spent busy (all CPUs; /proc/stat), or null. */
export function machineBusySeconds(): number | null {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!;
    const v = line.trim().split(/\s+/).slice(1).map(Number);
    // user nice system idle iowait irq softirq steal (guest time is already in user)
    const busy = v[0]! + v[1]! + v[2]! + v[5]! + v[6]! + (v[7] ?? 0);
    return busy / ticksPerSecond();
  } catch {
    return null;
  }
}

/** SIGTERM, then SIGKILL if `child` is still there after 5 s (a scenario's own processes, stopped between steps). */
export async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const gone = new Promise<void>((r) => child.once('exit', () => r()));
  child.kill('SIGTERM');
  await Promise.race([gone, new Promise<void>((r) => setTimeout(r, 5000).unref())]);
  if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
}
