import { watchFile, unwatchFile, type Stats } from 'node:fs';

// Watches a set of files by polling their stat (mtime, size, inode). Polling survives what fs.watch
// does not: editors and cert tooling that replace a file by rename, and files that vanish and return.
// Changes within one settle period are reported once.

export class FileWatcher {
  private watched = new Set<string>();
  private timer: NodeJS.Timeout | null = null;
  private readonly listener = (curr: Stats, prev: Stats) => {
    if (curr.mtimeMs === prev.mtimeMs && curr.size === prev.size && curr.ino === prev.ino) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = null;
      this.onChange();
    }, this.settleMs);
  };

  constructor(
    private readonly onChange: () => void,
    private readonly intervalMs = 500,
    private readonly settleMs = 150,
  ) {}

  /** Watches exactly `files` from now on. */
  set(files: readonly string[]): void {
    const next = new Set(files);
    for (const f of this.watched) if (!next.has(f)) unwatchFile(f, this.listener);
    for (const f of next) if (!this.watched.has(f)) watchFile(f, { interval: this.intervalMs, persistent: false }, this.listener);
    this.watched = next;
  }

  close(): void {
    this.set([]);
    if (this.timer) clearTimeout(this.timer);
  }
}
