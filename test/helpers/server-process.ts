import { spawn, type ChildProcess } from 'node:child_process';
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

export async function startServerProcess(c: ServerCommand): Promise<ServerProcess> {
  let proc: ChildProcess | null = null;

  const start = async () => {
    const p = spawn(c.command, c.args, { stdio: c.onOutput ? ['ignore', 'pipe', 'pipe'] : ['ignore', 'ignore', 'inherit'] });
    if (c.onOutput) {
      p.stdout!.on('data', (d) => c.onOutput!(String(d)));
      p.stderr!.on('data', (d) => c.onOutput!(String(d)));
    }
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
