// How long the primary waits before replacing a worker that exited. A worker that ran for a while
// and then crashed is replaced at once (a one-off); one that keeps dying soon after it starts waits
// longer each time — base, 2×, 4×, … up to a ceiling — so a worker that cannot start does not spin a
// core forking and failing. One staying up for `stableMs` resets the count.

export interface BackoffOptions {
  baseMs: number;
  maxMs: number;
  stableMs: number;
}

export const DEFAULT_BACKOFF: BackoffOptions = { baseMs: 500, maxMs: 30_000, stableMs: 10_000 };

export class RestartBackoff {
  private quickFailures = 0;

  constructor(private readonly o: BackoffOptions = DEFAULT_BACKOFF) {}

  /** The delay before the next start, given how long the worker that just exited had lived. */
  next(livedMs: number): number {
    if (livedMs >= this.o.stableMs) {
      this.quickFailures = 0;
      return 0;
    }
    this.quickFailures++;
    return Math.min(this.o.maxMs, this.o.baseMs * 2 ** (this.quickFailures - 1));
  }
}
