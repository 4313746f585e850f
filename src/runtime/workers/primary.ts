import { Counter, Gauge, Registry } from 'prom-client';
import { loadConfigFile, formatConfigError } from '../../config/load.ts';
import { log } from '../../observability/logger.ts';
import { installLastResortHandlers } from '../last-resort.ts';
import { startRateLimitPrimary } from '../../filters/ratelimit/cluster.ts';
import { HealthStatuses } from '../../health/health-statuses.ts';
import { startPrimaryAdmin } from '../../admin/primary-admin.ts';
import { WorkerGroup } from './worker-group.ts';
import { EXIT_INTERRUPTED } from '../gateway.ts';

// `gatehouse --config FILE --workers N`, the primary process: it serves no traffic itself. It forks N
// workers that share the listeners (node:cluster), keeps the memory rate-limit counts for them, and
// listens on the admin and gRPC health addresses for the whole group (primary-admin.ts; readiness and
// health from every worker's reports). Signals:
//   SIGTERM/SIGINT  group health NOT_SERVING at once, every worker drains (its own drain.delay and
//                   drain.timeout), the primary exits 0 when all have exited cleanly; a second one
//                   kills the workers and exits 1 at once;
//   SIGHUP          every worker reloads (a changed config file is seen by every worker's own watcher).
// The config is read here once, for the admin and gRPC health addresses (a change needs a restart).

/** Margin over the workers' longest drain before the primary stops waiting and kills them. */
const DRAIN_MARGIN_MS = 10_000;

export async function runPrimary(configFile: string, workers: number): Promise<number> {
  const loaded = await loadConfigFile(configFile);
  if (!loaded.ok) {
    process.stderr.write(`${loaded.errors.map(formatConfigError).join('\n')}\n`);
    return 1;
  }
  const cfg = loaded.config;
  installLastResortHandlers();
  startRateLimitPrimary(); // memory-store limits count here, once for all workers

  const group = new WorkerGroup(workers);
  const primaryRegistry = new Registry();
  new Gauge({
    name: 'gatehouse_workers_ready',
    help: 'Workers of this --workers group that report ready',
    registers: [primaryRegistry],
    collect() {
      this.set(group.summary().filter((w) => w.ready).length);
    },
  });
  new Counter({
    name: 'gatehouse_worker_restarts_total',
    help: 'Workers replaced after they exited unexpectedly',
    registers: [primaryRegistry],
    collect() {
      this.reset();
      this.inc(group.summary().reduce((n, w) => n + w.restarts, 0));
    },
  });

  const statuses = new HealthStatuses();
  group.onHealth((h) => statuses.replace(h));
  let admin;
  let grpcHealth;
  try {
    admin = await startPrimaryAdmin(cfg.admin, group, primaryRegistry);
    grpcHealth = cfg.grpcHealth ? await (await import('../../health/grpc-health.ts')).startGrpcHealth(cfg.grpcHealth.address, statuses) : null;
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n`);
    return 1;
  }

  let finished = false;
  const finish = async (code: number) => {
    if (finished) return;
    finished = true;
    await admin.close();
    await grpcHealth?.close();
    log.info({ code }, code === 0 ? 'all workers drained; exiting' : 'exiting');
    process.exit(code);
  };
  group.onExit((code) => void finish(code));

  const stop = (signal: 'SIGTERM' | 'SIGINT') => {
    if (group.isDraining) {
      log.warn({ signal }, 'second stop signal while draining: killing the workers and exiting now');
      group.kill();
      process.exit(EXIT_INTERRUPTED);
    }
    log.info({ signal, workers }, 'draining every worker');
    group.drain(signal);
    const bound = group.longestDrainMs + DRAIN_MARGIN_MS;
    setTimeout(() => {
      log.error({ waitedMs: bound }, 'workers still running after their drain bound; killing them');
      group.kill();
      void finish(1);
    }, bound).unref();
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGHUP', () => group.reload());

  group.start();
  log.info({ workers, admin: admin.port, grpcHealth: grpcHealth?.port ?? null }, 'gatehouse primary: workers starting');
  return new Promise<number>(() => undefined); // runs until the group exits
}
