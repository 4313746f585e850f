import { createSecureContext, type SecureContext } from 'node:tls';

// SNI table of one TLS listener: exact names, then `*.suffix` wildcards (one label, as browsers and
// OpenSSL match them), then the default (the first certificate). Built once per generation.

export interface CertificateMaterial {
  readonly cert: Buffer;
  readonly key: Buffer;
  readonly serverNames: readonly string[];
}

/** A listener's protocol parameters, the same for every certificate it serves (see tls-profile.ts). */
export interface TlsParameters {
  readonly minVersion: 'TLSv1.2' | 'TLSv1.3';
  /** Node's cipher string (TLS 1.3 suites included). */
  readonly ciphers: string;
  readonly ecdhCurve: string;
}

export interface SniTable {
  readonly defaultContext: SecureContext;
  /** The options the listener's default context is (re)built from; used with server.setSecureContext. */
  readonly defaultOptions: { cert: Buffer; key: Buffer } & TlsParameters;
  lookup(serverName: string): SecureContext;
}

export function buildSniTable(certs: readonly CertificateMaterial[], params: TlsParameters): SniTable {
  const exact = new Map<string, SecureContext>();
  const wildcard = new Map<string, SecureContext>(); // key: ".example.com"
  let defaultContext: SecureContext | undefined;
  for (const c of certs) {
    // createSecureContext throws when the key does not match the certificate: the caller reports it.
    const ctx = createSecureContext({ cert: c.cert, key: c.key, ...params });
    defaultContext ??= ctx;
    for (const raw of c.serverNames) {
      const name = raw.toLowerCase();
      if (name.startsWith('*.')) {
        if (!wildcard.has(name.slice(1))) wildcard.set(name.slice(1), ctx);
      } else if (!exact.has(name)) {
        exact.set(name, ctx);
      }
    }
  }
  if (!defaultContext) throw new Error('at least one certificate is required');
  const fallback = defaultContext;
  const first = certs[0];
  return {
    defaultContext: fallback,
    defaultOptions: { cert: first.cert, key: first.key, ...params },
    lookup(serverName: string): SecureContext {
      const name = serverName.toLowerCase();
      const hit = exact.get(name);
      if (hit) return hit;
      if (wildcard.size > 0) {
        const dot = name.indexOf('.');
        if (dot > 0) {
          const w = wildcard.get(name.slice(dot));
          if (w) return w;
        }
      }
      return fallback;
    },
  };
}
