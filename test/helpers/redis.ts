import net from 'node:net';
import { freePort } from './net.ts';
import { startServerProcess } from './server-process.ts';

// A throwaway redis-server on a free loopback port (no persistence), for tests. `restart()` brings
// it back on the same port (empty) after `stop()` or a kill — for outage tests.

export interface TestRedis {
  port: number;
  url: string;
  stop(): Promise<void>;
  restart(): Promise<void>;
}

function answersPing(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    s.setTimeout(500);
    s.once('connect', () => s.write('PING\r\n'));
    s.once('data', (d) => {
      s.destroy();
      resolve(d.toString().startsWith('+PONG'));
    });
    s.once('error', () => resolve(false));
    s.once('timeout', () => {
      s.destroy();
      resolve(false);
    });
  });
}

export async function startRedis(): Promise<TestRedis> {
  const port = await freePort();
  const server = await startServerProcess({
    command: 'redis-server',
    args: ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--daemonize', 'no'],
    what: `redis-server on ${port}`,
    ready: () => answersPing(port),
    maxMs: 10_000,
  });
  return { port, url: `redis://127.0.0.1:${port}`, stop: server.stop, restart: server.restart };
}

/** How many client connections the redis-server on `port` has (CLIENT LIST, minus this one). */
export function redisClientCount(port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1');
    let out = '';
    s.once('connect', () => s.write('CLIENT LIST\r\n'));
    s.on('data', (d) => {
      out += d;
      const m = /^\$(\d+)\r\n/.exec(out);
      if (m && Buffer.byteLength(out) >= m[0].length + Number(m[1])) {
        s.destroy();
        resolve(out.slice(m[0].length).split('\n').filter((l) => l.startsWith('id=')).length - 1);
      }
    });
    s.once('error', reject);
  });
}
