/**
 * Callers waiting until something reached a revision (the store's registry, the compiled snapshot):
 * each is answered true when reached() passes its revision, false at its timeout or on close().
 */
export class RevisionWaiters {
  private waiters: Array<{ revision: number; resolve: (ok: boolean) => void }> = [];

  /** Resolves true at once when `current` already reached `revision`. */
  wait(current: number, revision: number, timeoutMs: number): Promise<boolean> {
    if (current >= revision) return Promise.resolve(true);
    return new Promise((resolve) => {
      const waiter = { revision, resolve };
      this.waiters.push(waiter);
      setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        resolve(false);
      }, timeoutMs).unref();
    });
  }

  reached(revision: number): void {
    const ready = this.waiters.filter((w) => w.revision <= revision);
    this.waiters = this.waiters.filter((w) => w.revision > revision);
    for (const w of ready) w.resolve(true);
  }

  close(): void {
    for (const w of this.waiters) w.resolve(false);
    this.waiters = [];
  }
}
