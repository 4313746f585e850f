import type { HealthSnapshot, ServingStatus } from '../../health/health-statuses.ts';
import { OVERALL } from '../../health/health-feed.ts';

// Under --workers the primary answers health for the whole group:
//   ""               SERVING only when every worker slot has a live worker that reports SERVING
//                    (ready when every worker is), and the group is not draining;
//   "cluster:<name>" known when some live worker knows it; SERVING when every live worker that knows it
//                    says SERVING (each worker runs its own active checks, so they can briefly differ:
//                    the group claims a cluster only when all agree).

export function aggregateHealth(workers: readonly HealthSnapshot[], expected: number, draining: boolean): HealthSnapshot {
  const out = new Map<string, ServingStatus>();
  const allReady = !draining && workers.length === expected && workers.every((w) => w.get(OVERALL) === 'SERVING');
  out.set(OVERALL, allReady ? 'SERVING' : 'NOT_SERVING');
  for (const w of workers) {
    for (const [service, status] of w) {
      if (service === OVERALL) continue;
      const before = out.get(service);
      out.set(service, !draining && status === 'SERVING' && before !== 'NOT_SERVING' ? 'SERVING' : 'NOT_SERVING');
    }
  }
  return out;
}
