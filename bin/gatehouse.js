#!/usr/bin/env node
// Entry point for the `gatehouse` command. It runs the compiled JavaScript in dist/ (built by
// `npm ci` through `prepare`, and by `npm start` and `npm test`), which is what production and the
// benchmarks run. When dist/ is missing, or older than a file in src/ (a source edited since the
// last build), it runs the sources through tsx instead and says so: never stale code.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { dirname, join } from 'node:path';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const built = join(root, 'dist', 'main.js');
const buildStamp = join(root, 'dist', '.built'); // touched by every `npm run build`

function newestSource(dir) {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestSource(p) : statSync(p).mtimeMs);
  }
  return newest;
}

function distIsCurrent() {
  if (!existsSync(built)) return false;
  const src = join(root, 'src');
  if (!existsSync(src)) return true; // an image with dist/ only
  const stamp = existsSync(buildStamp) ? statSync(buildStamp).mtimeMs : statSync(built).mtimeMs;
  return newestSource(src) <= stamp;
}

if (distIsCurrent()) {
  await import(pathToFileURL(built).href);
} else {
  if (existsSync(built)) process.stderr.write('gatehouse: dist/ is older than src/; running the sources through tsx (npm run build)\n');
  const { register } = await import('tsx/esm/api');
  register();
  await import(pathToFileURL(join(root, 'src', 'main.ts')).href);
}
