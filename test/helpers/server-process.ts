import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { eventually } from './net.ts';

// One launcher for the throwaway servers tests depend on (redis-server, etcd): spawn it on the ports
// the caller picked, poll until it answers, SIGKILL it for an outage or the end, start it again the
// same way — so every such helper stops and restarts alike.

export interface ServerProcess {
  /** Kills it (SIGKILL) and resolves once it exited; nothing if it is not running. */
  stop(): Promise<void>;
  /** Starts it again with the same command line (after stop() or a kill), and waits until it answers. */
  restart(): Promise<void>;
}

export interface ServerCommand {
  command: string;
  args: string[];
  /** Named in the timeout error. */
  what: string;
  /** true once the server answers. */
  ready: () => Promise<boolean>;
  maxMs?: number;
  /** Gets its stdout and stderr; without it stdout is dropped and stderr goes to the test's. */
  onOutput?: (chunk: string) => void;
}

/**
 * `setpriv --pdeathsig SIGKILL` (util-linux) in front of a server command, when it is there: the
 * server then dies with the test process, even when the test runner kills a test file that timed
 * out. An orphaned redis-server once outlived its test file and, holding the runner's stderr pipe,
 * kept `npm test` from ever finishing after it had printed its summary.
 */
const SETPRIV = existsSync('/usr/bin/setpriv') ? '/usr/bin/setpriv' : null;

export function diesWithTest(command: string, args: string[]): [string, string[]] {
  return SETPRIV === null ? [command, args] : [SETPRIV, ['--pdeathsig', 'SIGKILL', '--', command, ...args]];
}

export async function startServerProcess(c: ServerCommand): Promise<ServerProcess> {
  let proc: ChildProcess | null = null;

  const start = async () => {
    const [command, args] = diesWithTest(c.command, c.args);
    // stderr is piped, never inherited: a server must not hold the test runner's own pipe.
    const p = spawn(command, args, { stdio: ['ignore', c.onOutput ? 'pipe' : 'ignore', 'pipe'] });
    if (c.onOutput) p.stdout!.on('data', (d) => c.onOutput!(String(d)));
    p.stderr!.on('data', (d) => (c.onOutput ? c.onOutput(String(d)) : process.stderr.write(d)));
    proc = p;
    await eventually(c.ready, c.what, c.maxMs);
  };
  const stop = async () => {
    const p = proc;
    proc = null;
    if (!p || p.exitCode !== null || p.signalCode !== null) return;
    const exited = new Promise<void>((r) => p.once('exit', () => r()));
    p.kill('SIGKILL');
    await exited;
  };

  await start();
  return {
    stop,
    restart: async () => {
      await stop();
      await start();
    },
  };
}
