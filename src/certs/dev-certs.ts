/**
 * Development certificate material (`gatehouse certs init`, `gatehouse certs issue`, and the
 * automatic set-up done by `npm start`).
 *
 * Lifetimes: leaves live `ttlMs` (default 24h); the CA lives max(ttlMs, 30 days), so leaves can be
 * re-issued (`certs issue`, or `ensureDevCerts` on the next `npm start`) without replacing the CA
 * that clients trust. A leaf never outlives its CA.
 *
 * Files are written atomically (temporary file + rename), keys with mode 0600 from creation,
 * certificates 0644. Within one certificate/key pair the key is moved into place first and the
 * certificate second, so a watcher that reloads on the certificate's change sees the matching key.
 */
import { generateKeyPair, X509Certificate, createPrivateKey } from 'node:crypto';
import { mkdir, readFile, access } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { writeFilesAtomic, type FileToWrite } from './atomic.ts';
import { CertsError } from './errors.ts';
import { createCa, issueLeaf, isUsablePair, isValidTrustDomain, type KeyAndCert, type LeafOptions } from './pki.ts';

export { CertsError } from './errors.ts';

const generateKeyPairAsync = promisify(generateKeyPair);

export const DEFAULT_CERTS_DIR = 'certs';
export const DEFAULT_LEAF_TTL_MS = 24 * 3_600_000;
export const MIN_CA_TTL_MS = 30 * 86_400_000;
export const DEFAULT_TRUST_DOMAIN = 'mesh.local';
/** ensureDevCerts renews a certificate that expires within this window. */
export const DEFAULT_RENEW_BEFORE_MS = 3_600_000;

const KEY_MODE = 0o600;
const CERT_MODE = 0o644;

type LeafName = 'edge' | 'gatehouse' | 'upstream';
const LEAVES: LeafName[] = ['edge', 'gatehouse', 'upstream'];

/** Every file `certs init` writes, in the order written. */
export const DEV_CERT_FILES = [
  'ca.key',
  'ca.crt',
  'edge.key',
  'edge.crt',
  'gatehouse.key',
  'gatehouse.crt',
  'upstream.key',
  'upstream.crt',
  'internal-token.key',
] as const;

export function gatehouseSpiffeId(trustDomain: string): string {
  return `spiffe://${trustDomain}/ns/edge/sa/gatehouse`;
}

export function upstreamSpiffeId(trustDomain: string): string {
  return `spiffe://${trustDomain}/ns/demo/sa/echo`;
}

function leafProfile(name: LeafName, trustDomain: string, ttlMs: number): LeafOptions {
  switch (name) {
    case 'edge': // public edge listener
      return { commonName: 'localhost', dns: ['localhost'], ips: ['127.0.0.1', '::1'], ttlMs, usage: 'server' };
    case 'gatehouse': // gatehouse's client identity toward the mesh
      return { commonName: 'gatehouse', spiffe: gatehouseSpiffeId(trustDomain), ttlMs, usage: 'client' };
    case 'upstream': // the demo mTLS upstream (serves, and may call back as a client)
      return {
        commonName: 'echo',
        dns: ['localhost'],
        ips: ['127.0.0.1', '::1'],
        spiffe: upstreamSpiffeId(trustDomain),
        ttlMs,
        usage: 'both',
      };
  }
}

export interface InitOptions {
  dir: string;
  ttlMs: number;
  trustDomain: string;
  force: boolean;
}

async function fileExists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}

async function newSigningKeyPem(): Promise<string> {
  const { privateKey } = await generateKeyPairAsync('ec', {
    namedCurve: 'prime256v1',
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  });
  return privateKey;
}

function pairFiles(dir: string, name: string, pair: KeyAndCert): FileToWrite[] {
  return [
    { path: join(dir, `${name}.key`), data: pair.keyPem, mode: KEY_MODE },
    { path: join(dir, `${name}.crt`), data: pair.certPem, mode: CERT_MODE },
  ];
}

function checkTtl(ttlMs: number): void {
  if (!Number.isFinite(ttlMs) || ttlMs <= 0) throw new CertsError(`invalid ttl: must be a positive duration`);
}

/**
 * Writes the full development set into `o.dir` (created if missing). Without `force`, refuses —
 * writing nothing at all — when any of the files already exists. Returns the paths written.
 */
export async function initDevCerts(o: InitOptions): Promise<{ written: string[] }> {
  checkTtl(o.ttlMs);
  if (!isValidTrustDomain(o.trustDomain)) {
    throw new CertsError(`invalid trust domain ${JSON.stringify(o.trustDomain)} (lowercase letters, digits, '.', '-', '_')`);
  }
  const targets = DEV_CERT_FILES.map((f) => join(o.dir, f));
  if (!o.force) {
    const existing: string[] = [];
    for (const t of targets) if (await fileExists(t)) existing.push(t);
    if (existing.length > 0) {
      throw new CertsError(`refusing to overwrite existing ${existing.length === 1 ? 'file' : 'files'} ${existing.join(', ')} (use --force)`);
    }
  }

  // Make everything in memory first: a failure here writes nothing.
  const ca = await createCa({ ttlMs: Math.max(o.ttlMs, MIN_CA_TTL_MS) });
  const [edge, gatehouse, upstream, tokenKey] = await Promise.all([
    issueLeaf(ca, leafProfile('edge', o.trustDomain, o.ttlMs)),
    issueLeaf(ca, leafProfile('gatehouse', o.trustDomain, o.ttlMs)),
    issueLeaf(ca, leafProfile('upstream', o.trustDomain, o.ttlMs)),
    newSigningKeyPem(),
  ]);

  const files: FileToWrite[] = [
    ...pairFiles(o.dir, 'ca', ca),
    ...pairFiles(o.dir, 'edge', edge),
    ...pairFiles(o.dir, 'gatehouse', gatehouse),
    ...pairFiles(o.dir, 'upstream', upstream),
    { path: join(o.dir, 'internal-token.key'), data: tokenKey, mode: KEY_MODE },
  ];
  await mkdir(o.dir, { recursive: true });
  // noClobber closes the gap between the check above and the write: a file that appears
  // meanwhile is not overwritten, and what this call already placed is removed again.
  await writeFilesAtomic(files, { noClobber: !o.force });
  return { written: files.map((f) => f.path) };
}

async function readPair(dir: string, name: string): Promise<KeyAndCert | null> {
  try {
    const [certPem, keyPem] = await Promise.all([
      readFile(join(dir, `${name}.crt`), 'utf8'),
      readFile(join(dir, `${name}.key`), 'utf8'),
    ]);
    return { certPem, keyPem };
  } catch {
    return null;
  }
}

function trustDomainOf(pair: KeyAndCert | null): string | null {
  if (!pair) return null;
  try {
    const san = new X509Certificate(pair.certPem).subjectAltName ?? '';
    const m = /URI:spiffe:\/\/([^/,\s]+)/.exec(san);
    return m && isValidTrustDomain(m[1]!) ? m[1]! : null;
  } catch {
    return null;
  }
}

export interface EnsureOptions {
  ttlMs?: number;
  trustDomain?: string;
  renewBeforeMs?: number;
}

/**
 * Makes sure a usable development set exists in `dir` (used by `npm start`). Returns true when it
 * wrote anything.
 *
 *  - any file missing, or the CA unreadable / mismatched / expiring within `renewBeforeMs` (1h):
 *    the full set is (re)created, as `certs init --force` would;
 *  - otherwise each leaf that is unreadable, expiring, or not issued by this CA is re-issued from
 *    the existing CA (same names and SPIFFE IDs), and an unreadable internal-token.key replaced;
 *    the CA, which a developer may have added to a trust store, is kept.
 */
export async function ensureDevCerts(dir: string, opts: EnsureOptions = {}): Promise<boolean> {
  const ttlMs = opts.ttlMs ?? DEFAULT_LEAF_TTL_MS;
  const renewBeforeMs = opts.renewBeforeMs ?? DEFAULT_RENEW_BEFORE_MS;
  const missing: string[] = [];
  for (const f of DEV_CERT_FILES) if (!(await fileExists(join(dir, f)))) missing.push(f);

  const ca = missing.length === 0 ? await readPair(dir, 'ca') : null;
  if (!ca || !isUsablePair(ca, renewBeforeMs)) {
    const trustDomain =
      opts.trustDomain ??
      trustDomainOf(await readPair(dir, 'gatehouse')) ??
      trustDomainOf(await readPair(dir, 'upstream')) ??
      DEFAULT_TRUST_DOMAIN;
    await initDevCerts({ dir, ttlMs, trustDomain, force: true });
    return true;
  }

  const caX509 = new X509Certificate(ca.certPem);
  const pairs = new Map<LeafName, KeyAndCert | null>();
  for (const name of LEAVES) pairs.set(name, await readPair(dir, name));
  const trustDomain =
    opts.trustDomain ?? trustDomainOf(pairs.get('gatehouse')!) ?? trustDomainOf(pairs.get('upstream')!) ?? DEFAULT_TRUST_DOMAIN;

  const files: FileToWrite[] = [];
  for (const name of LEAVES) {
    const pair = pairs.get(name);
    if (pair && isUsablePair(pair, renewBeforeMs, caX509)) continue;
    files.push(...pairFiles(dir, name, await issueLeaf(ca, leafProfile(name, trustDomain, ttlMs))));
  }
  const tokenKeyPath = join(dir, 'internal-token.key');
  try {
    createPrivateKey(await readFile(tokenKeyPath, 'utf8'));
  } catch {
    files.push({ path: tokenKeyPath, data: await newSigningKeyPem(), mode: KEY_MODE });
  }
  if (files.length === 0) return false;
  await writeFilesAtomic(files);
  return true;
}

export interface IssueOptions {
  caDir: string;
  name: string;
  out?: string;
  dns: string[];
  ips: string[];
  spiffe?: string;
  ttlMs: number;
  usage: 'server' | 'client' | 'both';
}

/**
 * Issues one leaf from the CA in `caDir` (ca.crt + ca.key) and writes `<out>/<name>.key` and
 * `<out>/<name>.crt` (`out` defaults to `caDir`, created if missing). Existing files are replaced
 * atomically — this is the rotation path. `warnings` carries non-fatal notes (e.g. the lifetime was
 * cut to the CA's expiry).
 */
export async function issueCert(o: IssueOptions): Promise<{ written: string[]; warnings: string[] }> {
  checkTtl(o.ttlMs);
  if (!/^[A-Za-z0-9_-][A-Za-z0-9._-]*$/.test(o.name) || o.name.length > 200) {
    throw new CertsError(`invalid name ${JSON.stringify(o.name)}: use letters, digits, '.', '-', '_' (it becomes <name>.crt / <name>.key)`);
  }
  if (o.name === 'ca' && (o.out === undefined || o.out === o.caDir)) {
    throw new CertsError(`refusing to overwrite the CA itself: choose another --name or --out`);
  }
  if (o.dns.length === 0 && o.ips.length === 0 && o.spiffe === undefined) {
    throw new CertsError('at least one subject alternative name is required (--dns, --ip or --spiffe)');
  }
  const caCertPath = join(o.caDir, 'ca.crt');
  const caKeyPath = join(o.caDir, 'ca.key');
  let ca: KeyAndCert;
  try {
    ca = { certPem: await readFile(caCertPath, 'utf8'), keyPem: await readFile(caKeyPath, 'utf8') };
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    throw new CertsError(`cannot read the CA from ${o.caDir}: ${e.path ?? ''} ${e.code === 'ENOENT' ? 'not found' : e.message} (run "gatehouse certs init" first)`.replace(/ +/g, ' '));
  }

  const warnings: string[] = [];
  try {
    const caNotAfter = new Date(new X509Certificate(ca.certPem).validTo).getTime();
    if (Date.now() + o.ttlMs > caNotAfter) {
      warnings.push(`the CA expires at ${new Date(caNotAfter).toISOString()}; the certificate's lifetime was shortened to match`);
    }
  } catch {
    /* issueLeaf reports an unreadable CA */
  }

  let pair: KeyAndCert;
  try {
    pair = await issueLeaf(ca, {
      commonName: o.name,
      dns: o.dns,
      ips: o.ips,
      spiffe: o.spiffe,
      ttlMs: o.ttlMs,
      usage: o.usage,
    });
  } catch (err) {
    if (err instanceof CertsError && /^CA /.test(err.message)) throw new CertsError(`${o.caDir}: ${err.message}`);
    throw err;
  }
  const out = o.out ?? o.caDir;
  await mkdir(out, { recursive: true });
  const files = pairFiles(out, o.name, pair);
  await writeFilesAtomic(files);
  return { written: files.map((f) => f.path), warnings };
}
