import net from 'node:net';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { freePort, sleep } from '../lib/net.ts';
import { tail, which } from '../lib/procs.ts';
import type { ServiceDef } from '../lib/types.ts';

// A throwaway redis-server for the Redis rate-limit store: loopback only, a free port, no
// persistence (`--save "" --appendonly no`), stopped with every other bench process at the end.

export const REDIS = which('redis-server');

/** One PING on a fresh connection: true when the answer is +PONG. */
function ping(port: number, timeoutMs = 500): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    const done = (ok: boolean) => {
      s.destroy();
      resolve(ok);
    };
    s.setTimeout(timeoutMs, () => done(false));
    s.once('error', () => done(false));
    s.once('connect', () => s.write('PING\r\n'));
    s.once('data', (d) => done(d.toString().startsWith('+PONG')));
  });
}

export const redisService: ServiceDef = {
  id: 'redis',
  title: 'redis-server (throwaway, no persistence)',
  needs: [],
  async start(ctx) {
    if (!REDIS) throw new Error('redis-server is not installed (Debian: redis-server); needed by the ratelimit-redis scenario');
    const port = await freePort();
    const logFile = join(ctx.tmp, 'redis.log');
    const child = ctx.procs.spawn('redis', REDIS, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--protected-mode', 'yes'], {
      cwd: ctx.tmp,
      cpu: null,
      logFile,
    });
    const until = Date.now() + 10_000;
    while (!(await ping(port))) {
      if (Date.now() > until || child.exitCode !== null) throw new Error(`redis-server did not answer PING on port ${port}:\n${tail(logFile)}`);
      await sleep(50);
    }
    const version = (spawnSync(REDIS, ['--version'], { encoding: 'utf8' }).stdout ?? '').trim();
    return { id: 'redis', pid: child.pid!, origin: `redis://127.0.0.1:${port}`, tls: false, logFile, info: { version, persistence: 'off' } };
  },
};
