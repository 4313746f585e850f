import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

// Every temp directory a test process makes (generated keys and certificates, configs, logs) lives
// under one root of its own, removed when the process exits: a full run makes thousands, and
// private keys must not pile up in /tmp. A process killed outright leaves one root behind, not
// hundreds of directories.

let root: string | null = null;

/** A new empty directory, named `prefix` + random characters, removed at process exit. */
export function testTempDir(prefix: string): string {
  if (root === null) {
    const made = mkdtempSync(join(tmpdir(), 'gatehouse-test-'));
    root = made;
    process.on('exit', () => rmSync(made, { recursive: true, force: true }));
  }
  return mkdtempSync(join(root, prefix));
}
