import { parseArgs } from 'node:util';
import cluster from 'node:cluster';
import { availableParallelism } from 'node:os';
import { Gateway } from '../runtime/gateway.ts';
import { log } from '../observability/logger.ts';
import { startRateLimitPrimary } from '../filters/ratelimit/cluster.ts';

// `gatehouse --config FILE [--workers N]` (alias `gatehouse run …`). With --workers N the primary
// forks N workers that share the listening sockets (node:cluster) and forwards signals to them.

export async function runCommand(argv: string[]): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: { config: { type: 'string', short: 'c' }, workers: { type: 'string', short: 'w' } },
      strict: true,
    }));
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\nusage: gatehouse [run] --config FILE [--workers N]\n`);
    return 2;
  }
  if (!values.config) {
    process.stderr.write('usage: gatehouse [run] --config FILE [--workers N]\n');
    return 2;
  }
  const workers = values.workers === undefined ? 1 : Number(values.workers);
  if (!Number.isInteger(workers) || workers < 1 || workers > Math.max(64, availableParallelism() * 4)) {
    process.stderr.write(`--workers: expected a whole number from 1, got "${values.workers}"\n`);
    return 2;
  }
  if (workers > 1 && cluster.isPrimary) return runPrimary(workers);

  const gateway = new Gateway({ configFile: values.config, handleSignals: true });
  try {
    await gateway.start();
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n`);
    return 1;
  }
  return new Promise<number>(() => undefined); // serves until a signal drains and exits
}

function runPrimary(workers: number): Promise<number> {
  let stopping = false;
  startRateLimitPrimary(); // memory-store limits count here, once for all workers
  for (let i = 0; i < workers; i++) cluster.fork();
  cluster.on('exit', (worker, code) => {
    if (stopping) {
      if (Object.keys(cluster.workers ?? {}).length === 0) process.exit(0);
      return;
    }
    if (code === 1 && worker.exitedAfterDisconnect === false) {
      log.error({ code }, 'worker failed to start; stopping');
      stopping = true;
      for (const w of Object.values(cluster.workers ?? {})) w?.kill('SIGTERM');
      process.exitCode = 1;
      return;
    }
    log.warn({ pid: worker.process.pid, code }, 'worker exited; starting another');
    cluster.fork();
  });
  const forward = (sig: NodeJS.Signals) => () => {
    if (sig !== 'SIGHUP') stopping = true;
    for (const w of Object.values(cluster.workers ?? {})) w?.process.kill(sig);
  };
  process.on('SIGTERM', forward('SIGTERM'));
  process.on('SIGINT', forward('SIGINT'));
  process.on('SIGHUP', forward('SIGHUP'));
  return new Promise<number>(() => undefined);
}
