import { parseArgs } from 'node:util';
import cluster from 'node:cluster';
import { availableParallelism } from 'node:os';
import { Gateway } from '../runtime/gateway.ts';
import { runPrimary } from '../runtime/workers/primary.ts';
import { attachToPrimary } from '../runtime/workers/worker.ts';

// `gatehouse --config FILE [--workers N]` (alias `gatehouse run …`). With --workers N the primary
// (runtime/workers/primary.ts) forks N workers that share the listening sockets (node:cluster); each
// worker runs this same command and lands in the worker branch below.

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
  if (workers > 1 && cluster.isPrimary) return runPrimary(values.config, workers);

  const gateway = new Gateway({ configFile: values.config, handleSignals: true, worker: cluster.isWorker });
  if (cluster.isWorker) attachToPrimary(gateway);
  try {
    await gateway.start();
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n`);
    if (cluster.isWorker) process.exit(1); // the IPC channel would keep a failed worker alive
    return 1;
  }
  return new Promise<number>(() => undefined); // serves until a signal drains and exits
}
