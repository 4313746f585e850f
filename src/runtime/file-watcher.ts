import { watchFile, unwatchFile, type Stats } from 'node:fs';
import { stat } from 'node:fs/promises';

// Watches a set of files by polling their stat (mtime, size, inode). Polling survives what fs.watch
// does not: editors and cert tooling that replace a file by rename, and files that vanish and return.
// Changes within one settle period are reported once, and not at all when a reload started since
// (for another reason: SIGHUP, the admin API) has already read the files as they are now.

export class FileWatcher {
  private watched = new Set<string>();
  private timer: NodeJS.Timeout | null = null;
  private readonly listener = (curr: Stats, prev: Stats) => {
    if (curr.mtimeMs === prev.mtimeMs && curr.size === prev.size && curr.ino === prev.ino) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.changedSinceRead().then((changed) => changed && this.onChange());
    }, this.settleMs);
  };
  /** What each watched file looked like when a reload last read them. */
  private read = new Map<string, string>();

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

  /** A reload is about to read the files: what they are now is not a change to report later. */
  async readingNow(): Promise<void> {
    const files = [...this.watched];
    const sigs = await Promise.all(files.map(signature));
    this.read = new Map(files.map((f, i) => [f, sigs[i]!]));
  }

  private async changedSinceRead(): Promise<boolean> {
    for (const f of this.watched) if ((await signature(f)) !== this.read.get(f)) return true;
    return false;
  }

  close(): void {
    this.set([]);
    if (this.timer) clearTimeout(this.timer);
  }
}

async function signature(file: string): Promise<string> {
  try {
    const s = await stat(file);
    return `${s.mtimeMs}:${s.size}:${s.ino}`;
  } catch {
    return 'missing';
  }
}
