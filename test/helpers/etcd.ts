import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { freePort } from './net.ts';
import { startServerProcess } from './server-process.ts';
import { testTempDir } from './tmp.ts';

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
  const dir = testTempDir('gatehouse-etcd-');
  const client = `http://127.0.0.1:${port}`;
  const peer = `http://127.0.0.1:${peerPort}`;
  let output = '';
  const server = await startServerProcess({
    command: 'etcd',
    args: [
      '--name', 'test',
      '--data-dir', join(dir, 'data'),
      '--listen-client-urls', client,
      '--advertise-client-urls', client,
      '--listen-peer-urls', peer,
      '--initial-advertise-peer-urls', peer,
      '--initial-cluster', `test=${peer}`,
      '--log-level', 'error',
    ],
    what: `etcd on ${port}`,
    ready: () => healthy(port),
    maxMs: 20_000,
    onOutput: (d) => (output += d),
  });
  return {
    port,
    endpoint: client,
    stop: server.stop,
    restart: server.restart,
    close: async () => {
      await server.stop();
      rmSync(dir, { recursive: true, force: true });
    },
    log: () => output,
  };
}
