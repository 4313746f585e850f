import { readdirSync } from 'node:fs';
import { setPriority } from 'node:os';

// The threads V8 and node start beside the main thread — V8's platform workers (optimising
// compiles, concurrent and parallel garbage collection) and node's own helpers — get a lower CPU
// priority than the thread that serves requests (imported first by main.ts, when those are the only
// other threads). When the gateway has fewer cores than busy threads (one core in the benchmarks),
// a background job then waits for the serving thread's idle time instead of taking turns with it:
// optimising the route compiler after a 10,000-route xDS push took 30–70 ms of CPU per function, and
// that held requests back by as long (a max latency of 130–190 ms in 1 push out of 8). The main
// thread waits for GC helpers only while it is idle itself, so they then run at once.
// Threads started later (libuv's pool for file and DNS work, our worker threads) inherit the main
// thread's priority; our worker threads lower their own (config/load-worker.ts,
// xds/translate/worker.ts). Linux only (per-thread nice values); elsewhere nothing changes.

const BACKGROUND_NICE = 10;

function lowerBackgroundThreads(): void {
  try {
    for (const tid of readdirSync('/proc/self/task')) {
      const id = Number(tid);
      if (!Number.isInteger(id) || id === process.pid) continue; // the main thread's id is the pid
      try {
        setPriority(id, BACKGROUND_NICE);
      } catch {
        // gone, or not permitted: leave it
      }
    }
  } catch {
    // no /proc (not Linux)
  }
}

lowerBackgroundThreads();
