/**
 * Atomic file writes: every file is written to a temporary file in the same directory (created
 * with its final mode, never chmod-ed afterwards), flushed, and then moved into place with one
 * rename(2) (or link(2) when overwriting is not allowed), so a file watcher never sees half a file
 * and a key never exists, even briefly, with a wider mode than 0600.
 */
import { randomBytes } from 'node:crypto';
import { link, open, rename, unlink, lstat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { CertsError } from './errors.ts';

export interface FileToWrite {
  path: string;
  data: string;
  /** e.g. 0o600 for private keys, 0o644 for certificates */
  mode: number;
}

interface Staged extends FileToWrite {
  tmp: string;
}

function tempPathFor(path: string): string {
  return join(dirname(path), `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`);
}

async function stage(file: FileToWrite): Promise<Staged> {
  const tmp = tempPathFor(file.path);
  // 'wx': fail rather than follow/clobber anything already at the temp path.
  const fh = await open(tmp, 'wx', file.mode);
  try {
    await fh.writeFile(file.data, 'utf8');
    await fh.sync();
  } catch (err) {
    await fh.close().catch(() => {});
    await unlink(tmp).catch(() => {});
    throw err;
  }
  await fh.close();
  return { ...file, tmp };
}

async function syncDir(dir: string): Promise<void> {
  // Best effort: make the renames durable. Not supported everywhere (e.g. Windows).
  try {
    const fh = await open(dir, 'r');
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }
  } catch {
    /* ignore */
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await lstat(path);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw err;
  }
}

/**
 * Writes every file atomically, in the order given. All temporary files are written first, so a
 * failure while writing (disk full, permissions) leaves every target untouched.
 *
 * With `noClobber`, a target that exists is never replaced: the commit uses link(2), which fails
 * if the target exists; on such a failure the targets already created by this call are removed
 * again and a CertsError names the existing file — nothing is left written.
 */
export async function writeFilesAtomic(files: FileToWrite[], opts: { noClobber?: boolean } = {}): Promise<void> {
  const staged: Staged[] = [];
  try {
    for (const f of files) staged.push(await stage(f));
  } catch (err) {
    await Promise.all(staged.map((s) => unlink(s.tmp).catch(() => {})));
    throw err;
  }

  const committed: string[] = [];
  try {
    for (const s of staged) {
      if (opts.noClobber) {
        try {
          await link(s.tmp, s.path);
        } catch (err) {
          const code = (err as NodeJS.ErrnoException).code;
          if (code === 'EEXIST') throw new CertsError(`refusing to overwrite existing file ${s.path} (use --force)`);
          // File systems without hard links: check, then rename (not race-free, but close).
          if (code === 'EPERM' || code === 'ENOTSUP' || code === 'EOPNOTSUPP' || code === 'ENOSYS') {
            if (await exists(s.path)) throw new CertsError(`refusing to overwrite existing file ${s.path} (use --force)`);
            await rename(s.tmp, s.path);
            committed.push(s.path);
            continue;
          }
          throw err;
        }
        committed.push(s.path);
        await unlink(s.tmp).catch(() => {});
      } else {
        await rename(s.tmp, s.path);
        committed.push(s.path);
      }
    }
  } catch (err) {
    await Promise.all(staged.map((s) => unlink(s.tmp).catch(() => {})));
    if (opts.noClobber) {
      // Only files this call created; nothing pre-existing is touched.
      await Promise.all(committed.map((p) => unlink(p).catch(() => {})));
    }
    throw err;
  }
  for (const dir of new Set(files.map((f) => dirname(f.path)))) await syncDir(dir);
}
