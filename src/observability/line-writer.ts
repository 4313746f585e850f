import { close as closeFd, mkdirSync, openSync, write, writeSync } from 'node:fs';
import { dirname } from 'node:path';

// Buffered, asynchronous writing of log lines to a file or to stdout/stderr, built for the access
// log's rate (one line per request). Each line is encoded once, straight into a pre-allocated chunk
// (no per-line Buffer, no growing string that is measured again at every write as sonic-boom does);
// a full chunk — or whatever is gathered every `flushMs` — goes out in one write(2) off the event
// loop, one chunk at a time, in order. Chunks are recycled.
//
// Bounded: while the disk or pipe is slower than the traffic, chunks queue up to `maxQueuedBytes`;
// past that, new lines are dropped and counted (`dropped`) rather than growing the gateway's
// memory without limit — a full disk must not take the edge down with it.

export interface LineWriterOptions {
  /**
   * Bytes per write(2); 256 KiB by default. Each write is handed to libuv's thread pool, and every
   * hand-off has a fixed cost on the event loop's core (a CPU profile with the gateway on one core:
   * ~400 µs of the main thread per write, whatever its size): 64 KiB chunks cost ~2.5 µs per line,
   * 256 KiB ~0.7 µs.
   */
  chunkBytes?: number;
  /** Whatever is gathered is written at least this often (a quiet gateway's log is never further behind). */
  flushMs?: number;
  /** Chunks waiting for the disk, at most (then lines are dropped). */
  maxQueuedBytes?: number;
  /** Told once per burst of trouble: a failed write (not retried, its lines are lost) or a full queue. */
  onError?: (err: Error) => void;
}

const RETRY_MS = 10; // EAGAIN on a non-blocking pipe: try again shortly

/** Writers not closed yet: what they still hold is written synchronously when the process exits. */
const live = new Set<LineWriter>();
process.on('exit', () => {
  for (const w of live) w.flushSync();
});

export class LineWriter {
  /** Lines dropped because the queue was full or a write failed. */
  dropped = 0;

  private readonly chunkBytes: number;
  private readonly maxQueuedBytes: number;
  private readonly onError: (err: Error) => void;
  private chunk: Buffer;
  /** Bytes used in `chunk`, and how many lines they hold. */
  private used = 0;
  private lines = 0;
  /** Full chunks waiting for the disk, oldest first, with their line counts. */
  private readonly queue: { buf: Buffer; lines: number }[] = [];
  private queuedBytes = 0;
  private writing = false;
  private claimed: Buffer | null = null;
  private closing = false;
  private failedSinceLastSuccess = false;
  private readonly spare: Buffer[] = [];
  private readonly timer: NodeJS.Timeout;

  private constructor(
    private readonly fd: number,
    private readonly ownsFd: boolean,
    opts: LineWriterOptions,
  ) {
    this.chunkBytes = opts.chunkBytes ?? 256 * 1024;
    this.maxQueuedBytes = opts.maxQueuedBytes ?? 8 * 1024 * 1024;
    this.onError = opts.onError ?? (() => undefined);
    this.chunk = Buffer.allocUnsafeSlow(this.chunkBytes);
    this.timer = setInterval(() => this.flush(), opts.flushMs ?? 250);
    this.timer.unref();
    live.add(this);
  }

  /** Appends to a file (created with its directory). */
  static toFile(path: string, opts: LineWriterOptions = {}): LineWriter {
    mkdirSync(dirname(path), { recursive: true });
    return new LineWriter(openSync(path, 'a'), true, opts);
  }

  /** Writes to an inherited descriptor (1: stdout, 2: stderr), left open on close. */
  static toFd(fd: number, opts: LineWriterOptions = {}): LineWriter {
    return new LineWriter(fd, false, opts);
  }

  /** `line` must end with its newline. */
  write(line: string): void {
    // A UTF-16 code unit is at most 3 UTF-8 bytes.
    const buf = this.claim(line.length * 3);
    if (buf !== null) this.commit(this.claimedAt + buf.write(line, this.claimedAt, 'utf8'));
  }

  /**
   * For a caller that encodes a line itself: the buffer to write it into, from `claimedAt`, with room
   * for `maxBytes` (the current chunk, sent first if the line might not fit; a buffer of its own for
   * a line larger than a chunk), or null once closed. `commit()` with the line's end must follow
   * before anything else is written.
   */
  claim(maxBytes: number): Buffer | null {
    if (this.closing) return null;
    if (this.used + maxBytes > this.chunkBytes) {
      this.flush();
      if (maxBytes > this.chunkBytes) {
        this.claimed = Buffer.allocUnsafeSlow(maxBytes); // goes alone
        this.claimedAt = 0;
        return this.claimed;
      }
    }
    this.claimed = this.chunk;
    this.claimedAt = this.used;
    return this.chunk;
  }

  /** Where the claimed room starts. */
  claimedAt = 0;

  /** The line written into the claimed buffer ends at `end` (its newline included). */
  commit(end: number): void {
    const buf = this.claimed;
    this.claimed = null;
    if (buf === this.chunk) {
      this.used = end;
      this.lines++;
    } else if (buf !== null) {
      this.enqueue(buf.subarray(0, end), 1);
    }
  }

  /** Writes what is left, then closes a file it opened. */
  close(): void {
    if (this.closing) return;
    this.flush();
    this.closing = true;
    clearInterval(this.timer);
    live.delete(this);
    this.finishIfIdle();
  }

  /** At exit: everything not yet handed to the kernel, synchronously (the chunk being written is already on its way). */
  flushSync(): void {
    this.flush();
    for (let i = this.writing ? 1 : 0; i < this.queue.length; i++) {
      const buf = this.queue[i]!.buf;
      try {
        writeAllSync(this.fd, buf);
      } catch {
        break; // nothing more can be done at exit
      }
    }
    const inFlight = this.writing ? this.queue[0] : undefined;
    this.queue.length = 0;
    this.queuedBytes = 0;
    if (inFlight) {
      this.queue.push(inFlight);
      this.queuedBytes = inFlight.buf.length;
    }
  }

  /** Sends what is gathered now: the timer calls it, and so do a full chunk, close() and exit. */
  flush(): void {
    if (this.used === 0) return;
    const full = this.chunk.subarray(0, this.used);
    const lines = this.lines;
    this.chunk = this.spare.pop() ?? Buffer.allocUnsafeSlow(this.chunkBytes);
    this.used = 0;
    this.lines = 0;
    this.enqueue(full, lines);
  }

  private enqueue(buf: Buffer, lines: number): void {
    if (this.queuedBytes + buf.length > this.maxQueuedBytes) {
      if (!this.failedSinceLastSuccess) this.onError(new Error(`more than ${this.maxQueuedBytes} bytes wait for the disk: dropping lines until it catches up`));
      this.failedSinceLastSuccess = true;
      this.dropped += lines;
      this.recycle(buf);
      return;
    }
    this.queue.push({ buf, lines });
    this.queuedBytes += buf.length;
    if (!this.writing) this.writeNext(0);
  }

  private writeNext(offset: number): void {
    const head = this.queue[0];
    if (head === undefined) {
      this.writing = false;
      this.finishIfIdle();
      return;
    }
    this.writing = true;
    write(this.fd, head.buf, offset, head.buf.length - offset, null, (err, n) => {
      if (err) {
        if ((err as NodeJS.ErrnoException).code === 'EAGAIN') {
          setTimeout(() => this.writeNext(offset), RETRY_MS).unref();
          return;
        }
        if (!this.failedSinceLastSuccess) this.onError(err);
        this.failedSinceLastSuccess = true;
        this.dropped += head.lines;
        this.done(head.buf);
        return;
      }
      this.failedSinceLastSuccess = false;
      if (offset + n < head.buf.length) this.writeNext(offset + n); // a partial write (pipes)
      else this.done(head.buf);
    });
  }

  private done(buf: Buffer): void {
    this.queue.shift();
    this.queuedBytes -= buf.length;
    this.recycle(buf);
    this.writeNext(0);
  }

  private recycle(buf: Buffer): void {
    // Only whole chunks come back for reuse (an oversized line's own buffer does not).
    if (buf.buffer.byteLength === this.chunkBytes && this.spare.length < 2) this.spare.push(Buffer.from(buf.buffer, 0, this.chunkBytes));
  }

  private finishIfIdle(): void {
    if (!this.closing || this.writing || this.queue.length > 0) return;
    if (this.ownsFd) closeFd(this.fd, () => undefined);
  }
}

function writeAllSync(fd: number, buf: Buffer): void {
  let off = 0;
  while (off < buf.length) off += writeSync(fd, buf, off, buf.length - off);
}
