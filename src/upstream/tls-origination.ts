import { readFile } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { createSecureContext, type ConnectionOptions } from 'node:tls';
import { sanIdentityCheck } from './san-match.ts';

// TLS toward a cluster: client certificate, CA bundle, SNI and minimum version, read from files when
// the generation is compiled, and the SAN check (san-match.ts). Verification of the server certificate is always on (Endpoint enforces
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
}

export async function loadOriginationTls(cfg: OriginationTlsConfig): Promise<OriginationTls> {
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
  const options: ConnectionOptions = {
    minVersion,
    secureContext,
    // The material itself stays readable (certificate expiry metrics); tls.connect uses secureContext.
    ...(cert ? { cert } : {}),
    ...(key ? { key } : {}),
    // With a caFile only that CA is trusted (a mesh has its own root); without one, the system CAs.
    ...(ca ? { ca } : {}),
    ...(cfg.serverName ? { servername: cfg.serverName } : {}),
    // SAN matchers replace the host-name check; a mismatch fails the handshake (→ 502, nothing sent).
    ...(cfg.matchSubjectAltNames?.length ? { checkServerIdentity: sanIdentityCheck(cfg.matchSubjectAltNames) } : {}),
  };
  return { options, fingerprint: hash.digest('hex') };
}
