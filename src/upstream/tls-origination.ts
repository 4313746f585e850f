import { readFile } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { createSecureContext, type ConnectionOptions, type SecureContext } from 'node:tls';
import { sanIdentityCheck } from './san-match.ts';
import { earliestExpiry, leafExpiry } from '../observability/cert-expiry.ts';

// TLS toward a cluster: client certificate, CA bundle, SNI and minimum version, read from files when
// the generation is compiled (once per compile for clusters that name the same files), and the SAN
// check (san-match.ts). Verification of the server certificate is always on (Endpoint enforces
// rejectUnauthorized). The fingerprint lets compile() reuse a cluster, and its warm connections,
// when neither its config nor the bytes of its files changed.

export interface OriginationTlsConfig {
  readonly certFile?: string;
  readonly keyFile?: string;
  readonly caFile?: string;
  readonly serverName?: string;
  readonly minVersion?: 'TLSv1.2' | 'TLSv1.3';
  readonly matchSubjectAltNames?: readonly string[];
}

export interface OriginationTls {
  readonly options: ConnectionOptions;
  /** Hash of the material, so a rotated file makes a new fingerprint. */
  readonly fingerprint: string;
  /** notAfter (epoch seconds) of the client certificate and of the earliest CA, when the files have them. */
  readonly certExpiresAt: number | null;
  readonly caExpiresAt: number | null;
}

/** What a cluster's TLS files hold: read, checked and turned into one SecureContext. */
export interface OriginationMaterial {
  readonly cert?: Buffer;
  readonly key?: Buffer;
  readonly ca?: Buffer;
  readonly minVersion: 'TLSv1.2' | 'TLSv1.3';
  readonly secureContext: SecureContext;
  /** Hash of the bytes, so a rotated file makes a new fingerprint. */
  readonly fingerprint: string;
  readonly certExpiresAt: number | null;
  readonly caExpiresAt: number | null;
}

async function loadMaterial(cfg: OriginationTlsConfig): Promise<OriginationMaterial> {
  let cert: Buffer | undefined;
  let key: Buffer | undefined;
  let ca: Buffer | undefined;
  try {
    [cert, key, ca] = await Promise.all([
      cfg.certFile ? readFile(cfg.certFile) : undefined,
      cfg.keyFile ? readFile(cfg.keyFile) : undefined,
      cfg.caFile ? readFile(cfg.caFile) : undefined,
    ]);
  } catch (err) {
    throw new Error(`cannot read: ${(err as Error).message}`);
  }
  const minVersion = cfg.minVersion ?? 'TLSv1.3';
  // Built once here: a key that does not match its certificate (a rotation caught half-way, one file
  // written before the other) fails the compile, so the previous generation keeps serving instead of
  // every new connection failing; and every connection of the cluster shares this one context.
  let secureContext;
  try {
    secureContext = createSecureContext({ minVersion, ...(cert ? { cert } : {}), ...(key ? { key } : {}), ...(ca ? { ca } : {}) });
  } catch (err) {
    throw new Error(`invalid certificate, key or CA: ${(err as Error).message}`);
  }
  const hash = createHash('sha256');
  for (const part of [cert, key, ca]) hash.update(part ?? '-').update('\0');
  return {
    ...(cert ? { cert } : {}),
    ...(key ? { key } : {}),
    ...(ca ? { ca } : {}),
    minVersion,
    secureContext,
    fingerprint: hash.digest('hex'),
    certExpiresAt: leafExpiry(cert),
    caExpiresAt: earliestExpiry(ca),
  };
}

/**
 * The files of one compile, read once: a mesh's clusters usually share one client certificate, key
 * and CA, and reading them and building a SecureContext per cluster made a reload with 1,000
 * clusters take ~1.6 s (an xDS update reloads too). A new compile makes a new cache, so a rotated
 * file is read again.
 */
export class OriginationMaterials {
  private readonly byFiles = new Map<string, Promise<OriginationMaterial>>();

  get(cfg: OriginationTlsConfig): Promise<OriginationMaterial> {
    const key = JSON.stringify([cfg.certFile ?? null, cfg.keyFile ?? null, cfg.caFile ?? null, cfg.minVersion ?? null]);
    let m = this.byFiles.get(key);
    if (m === undefined) this.byFiles.set(key, (m = loadMaterial(cfg)));
    return m;
  }
}

/** A cluster's TLS: the shared material plus its own SNI and SAN check. */
export async function loadOriginationTls(cfg: OriginationTlsConfig, materials = new OriginationMaterials()): Promise<OriginationTls> {
  const m = await materials.get(cfg);
  const options: ConnectionOptions = {
    minVersion: m.minVersion,
    secureContext: m.secureContext,
    // The material itself stays readable; tls.connect uses secureContext.
    ...(m.cert ? { cert: m.cert } : {}),
    ...(m.key ? { key: m.key } : {}),
    // With a caFile only that CA is trusted (a mesh has its own root); without one, the system CAs.
    ...(m.ca ? { ca: m.ca } : {}),
    ...(cfg.serverName ? { servername: cfg.serverName } : {}),
    // SAN matchers replace the host-name check; a mismatch fails the handshake (→ 502, nothing sent).
    ...(cfg.matchSubjectAltNames?.length ? { checkServerIdentity: sanIdentityCheck(cfg.matchSubjectAltNames) } : {}),
  };
  return { options, fingerprint: m.fingerprint, certExpiresAt: m.certExpiresAt, caExpiresAt: m.caExpiresAt };
}
