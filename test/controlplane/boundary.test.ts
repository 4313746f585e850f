import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

// ARCHITECTURE: the control plane is a separate process that shares only src/grpc/ and the config
// error style with the gateway; the gateway never imports it. Checked on the import statements.

const SRC = resolve(import.meta.dirname, '..', '..', 'src');
/** What src/controlplane/ may import from the rest of src/: the proto loader and the config grammar's leaf modules. */
const SHARED = new Set(['grpc/protos.ts', 'config/errors.ts', 'config/zod-errors.ts', 'config/env.ts', 'config/duration.ts', 'config/checks.ts']);

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? files(p) : p.endsWith('.ts') ? [p] : [];
  });
}

function imports(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const found = [...text.matchAll(/(?:from|import)\s*\(?\s*'(\.[^']+)'/g)].map((m) => m[1]!);
  return found.map((spec) => relative(SRC, resolve(dirname(file), spec)));
}

test('src/controlplane imports nothing of the gateway but grpc/ and the config grammar', () => {
  const offending: string[] = [];
  for (const f of files(join(SRC, 'controlplane'))) {
    for (const target of imports(f)) {
      if (!target.startsWith('controlplane/') && !SHARED.has(target)) offending.push(`${relative(SRC, f)} → ${target}`);
    }
  }
  assert.deepEqual(offending, []);
});

test('the gateway never imports src/controlplane (only the control-plane verb loads it)', () => {
  const offending: string[] = [];
  for (const f of files(SRC)) {
    const rel = relative(SRC, f);
    if (rel.startsWith('controlplane/') || rel === 'cli/control-plane.ts') continue;
    for (const target of imports(f)) {
      if (target.startsWith('controlplane/') || (target === 'cli/control-plane.ts' && rel !== 'main.ts')) offending.push(`${rel} → ${target}`);
    }
  }
  assert.deepEqual(offending, []);
  assert.match(readFileSync(join(SRC, 'main.ts'), 'utf8'), /await import\('\.\/cli\/control-plane\.ts'\)/, 'main.ts loads the verb lazily');
});
