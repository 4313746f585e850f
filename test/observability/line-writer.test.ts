import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { constants, openSync, readFileSync, closeSync, read } from 'node:fs';
import { join } from 'node:path';
import { LineWriter } from '../../src/observability/line-writer.ts';
import { eventually } from '../helpers/net.ts';
import { testTempDir } from '../helpers/tmp.ts';

// The access log's writer (src/observability/line-writer.ts): lines arrive whole and in order,
// across chunk boundaries, in lines larger than a chunk and in multi-byte UTF-8; close() writes what
// is left; and a destination that stops reading costs dropped, counted lines — not memory — and
// writing resumes when it reads again.

const dir = testTempDir('gatehouse-line-writer-');

test('every line arrives whole and in order, across chunks, oversized lines and multi-byte text', async () => {
  const file = join(dir, 'order.log');
  const w = LineWriter.toFile(file, { chunkBytes: 1024, flushMs: 20 });
  const want: string[] = [];
  for (let i = 0; i < 2000; i++) {
    const text = i % 97 === 0 ? 'x'.repeat(3000) : i % 13 === 0 ? `é€😀 ${i}` : `line ${i}`;
    const line = `{"n":${i},"t":${JSON.stringify(text)}}`;
    want.push(line);
    w.write(`${line}\n`);
  }
  await eventually(() => readFileSync(file, 'utf8').split('\n').length === 2001, 'the timer flushed everything');
  assert.deepEqual(readFileSync(file, 'utf8').split('\n').slice(0, -1), want);
  assert.equal(w.dropped, 0);
  w.close();
});

test('close() writes what is still buffered', async () => {
  const file = join(dir, 'close.log');
  const w = LineWriter.toFile(file, { flushMs: 60_000 }); // the timer will not help
  w.write('first\n');
  w.write('second\n');
  w.close();
  w.write('after close is ignored\n');
  await eventually(() => readFileSync(file, 'utf8') === 'first\nsecond\n', 'both lines written on close');
});

test('a destination that stops reading costs counted lines, not memory; writing resumes when it reads', async () => {
  const fifo = join(dir, 'stalled.fifo');
  execFileSync('mkfifo', [fifo]);
  const reader = openSync(fifo, constants.O_RDONLY | constants.O_NONBLOCK);
  const writerFd = openSync(fifo, constants.O_WRONLY);
  const troubles: string[] = [];
  const w = LineWriter.toFd(writerFd, { chunkBytes: 16 * 1024, maxQueuedBytes: 64 * 1024, flushMs: 10, onError: (e) => troubles.push(e.message) });
  const line = `${'y'.repeat(99)}\n`;
  // Nobody reads: the pipe (64 KiB) fills, one chunk is stuck in write(2), the queue fills up to its bound.
  for (let i = 0; i < 5000; i++) w.write(line);
  await eventually(() => w.dropped > 0, 'lines are dropped once the queue is full');
  assert.equal(troubles.length, 1, 'told once, not once per line');
  assert.match(troubles[0]!, /dropping lines/);
  const droppedWhileStalled = w.dropped;
  // Read everything there is: the queue drains, and new lines get through again.
  const buf = Buffer.alloc(64 * 1024);
  let received = '';
  const drain = () =>
    new Promise<number>((resolve) => read(reader, buf, 0, buf.length, null, (err, n) => resolve(err ? 0 : n)));
  let idleReads = 0;
  await eventually(async () => {
    const n = await drain();
    received += buf.toString('utf8', 0, n);
    idleReads = n === 0 ? idleReads + 1 : 0;
    return idleReads >= 3; // the stuck chunk and the queue have come through
  }, 'the backlog drains');
  const marker = 'resumed\n';
  w.write(marker);
  await eventually(async () => {
    const n = await drain();
    received += buf.toString('utf8', 0, n);
    return received.endsWith(marker);
  }, 'a line written after the stall arrives');
  assert.ok(received.split('\n').slice(0, -2).every((l) => l === line.slice(0, -1)), 'only whole lines');
  assert.equal(w.dropped, droppedWhileStalled, 'nothing dropped after the reader came back');
  w.close();
  closeSync(writerFd);
  closeSync(reader);
});
