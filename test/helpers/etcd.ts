import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, eventually } from './net.ts';

// A throwaway single-member etcd (Debian's `etcd`) on free loopback ports with a temp data dir.
// `stop()` kills it (an outage); `restart()` brings it back on the same ports and data dir, so the
// registry survives; `close()` kills it and removes the data dir.

export interface TestEtcd {
  port: number;
  /** `http://127.0.0.1:<port>`, for `source.etcd.endpoints`. */
  endpoint: string;
  stop(): Promise<void>;
  restart(): Promise<void>;
  close(): Promise<void>;
  /** etcd's own log so far (for a failing test's message). */
  log(): string;
}

async function healthy(port: number): Promise<boolean> {
  try {
    const res = await fetch(`http://127.0.0.1:${port}/health`, { signal: AbortSignal.timeout(1000) });
    const body = (await res.json()) as { health?: string };
    return body.health === 'true';
  } catch {
    return false;
  }
}

export async function startEtcd(): Promise<TestEtcd> {
  const [port, peerPort] = await Promise.all([freePort(), freePort()]);
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-etcd-'));
  const client = `http://127.0.0.1:${port}`;
  const peer = `http://127.0.0.1:${peerPort}`;
  let proc: ChildProcess | null = null;
  let output = '';

  const start = async () => {
    const p = spawn(
      'etcd',
      [
        '--name', 'test',
        '--data-dir', join(dir, 'data'),
        '--listen-client-urls', client,
        '--advertise-client-urls', client,
        '--listen-peer-urls', peer,
        '--initial-advertise-peer-urls', peer,
        '--initial-cluster', `test=${peer}`,
        '--log-level', 'error',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    p.stdout!.on('data', (d) => (output += d));
    p.stderr!.on('data', (d) => (output += d));
    proc = p;
    await eventually(() => healthy(port), `etcd on ${port}`, 20_000);
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
    port,
    endpoint: client,
    stop,
    restart: async () => {
      await stop();
      await start();
    },
    close: async () => {
      await stop();
      rmSync(dir, { recursive: true, force: true });
    },
    log: () => output,
  };
}
