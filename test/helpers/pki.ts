import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initDevCerts, issueCert } from '../../src/certs/dev-certs.ts';

// Development PKI for tests: generated once per test process in a temp dir, never committed.

export interface TestPki {
  dir: string;
  file(name: string): string;
  read(name: string): Buffer;
}

let cached: Promise<TestPki> | null = null;

function wrap(dir: string): TestPki {
  return { dir, file: (n) => join(dir, n), read: (n) => readFileSync(join(dir, n)) };
}

/** The dev CA set (ca, edge, gatehouse, upstream, internal-token) as `certs init` writes it. */
export function testPki(): Promise<TestPki> {
  cached ??= (async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gatehouse-pki-'));
    await initDevCerts({ dir, ttlMs: 24 * 3_600_000, trustDomain: 'mesh.local', force: false });
    return wrap(dir);
  })();
  return cached;
}

/** A second, unrelated CA set: certificates nobody in the first set trusts. */
export async function otherPki(): Promise<TestPki> {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-pki-other-'));
  await initDevCerts({ dir, ttlMs: 24 * 3_600_000, trustDomain: 'other.local', force: false });
  return wrap(dir);
}

/** Issues one more leaf from `pki`'s CA into `pki.dir` (rotation, extra SNI names). */
export async function issue(
  pki: TestPki,
  name: string,
  o: { dns?: string[]; ips?: string[]; spiffe?: string; usage?: 'server' | 'client' | 'both'; outDir?: string } = {},
): Promise<{ cert: string; key: string }> {
  const out = o.outDir ?? pki.dir;
  await issueCert({
    caDir: pki.dir,
    name,
    out,
    dns: o.dns ?? [],
    ips: o.ips ?? [],
    spiffe: o.spiffe,
    ttlMs: 3_600_000,
    usage: o.usage ?? 'server',
  });
  return { cert: join(out, `${name}.crt`), key: join(out, `${name}.key`) };
}
