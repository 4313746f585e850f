import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { testPki, type TestPki } from '../helpers/pki.ts';
import { startUpstream, type TestUpstream } from '../helpers/upstream.ts';
import { basicConfig } from '../helpers/gateway.ts';
import { spawnGateway, writeConfig } from '../helpers/process.ts';

// A running gateway's threads: the one that serves requests keeps the process's priority; V8's and
// node's helper threads (optimising compiles, GC helpers) run at a lower one, so on a shared core
// they wait for its idle time (src/runtime/background-threads.ts). Linux only: /proc and per-thread
// nice values.

let pki: TestPki;
let up: TestUpstream;
before(async () => {
  pki = await testPki();
  up = await startUpstream();
});
after(async () => {
  await up.close();
});

/** Field 19 of /proc/PID/task/TID/stat: the thread's nice value. */
function niceOf(pid: number, tid: string): number {
  const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16]);
}

test('the serving thread keeps its priority; the helper threads started with it run below it', { skip: process.platform !== 'linux' }, async () => {
  const cfg = await writeConfig(basicConfig(pki, { endpoint: up.address }));
  const gw = await spawnGateway(cfg.file);
  try {
    const pid = gw.child.pid!;
    const threads = readdirSync(`/proc/${pid}/task`);
    assert.ok(threads.length > 1, 'node runs helper threads');
    assert.equal(niceOf(pid, String(pid)), 0, 'the main (serving) thread');
    const helpers = threads.filter((t) => t !== String(pid)).map((t) => niceOf(pid, t));
    // the helpers that existed when gatehouse started (V8's platform workers among them) are lowered
    assert.ok(helpers.filter((n) => n >= 10).length >= 4, `helper threads' nice values: ${helpers.join(', ')}`);
  } finally {
    await gw.kill();
  }
});
