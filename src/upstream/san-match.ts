import type { PeerCertificate } from 'node:tls';

// matchSubjectAltNames: the identity check of a mesh server certificate. Each entry is one of
//   spiffe://trust.domain/ns/x/sa/y   exact URI SAN
//   checkout.mesh.local               exact DNS SAN (case-insensitive)
//   prefix:spiffe://mesh.local/ns/shop/   any URI or DNS SAN starting with it (a trust domain or namespace)
// Compiled once per cluster into a `checkServerIdentity` for tls.connect. When the list is given it
// replaces the host-name check (as Envoy/Istio do); chain verification stays on (rejectUnauthorized).

export interface SanMatcher {
  readonly exactUris: ReadonlySet<string>;
  readonly exactDns: ReadonlySet<string>;
  readonly prefixes: readonly string[];
}

export function compileSanMatcher(entries: readonly string[]): SanMatcher {
  const exactUris = new Set<string>();
  const exactDns = new Set<string>();
  const prefixes: string[] = [];
  for (const e of entries) {
    if (e.startsWith('prefix:')) prefixes.push(e.slice(7));
    else if (e.includes('://')) exactUris.add(e);
    else exactDns.add(e.toLowerCase());
  }
  return { exactUris, exactDns, prefixes };
}

/** The certificate's SANs as { uris, dns }; Node quotes values holding separators, so unquote them. */
export function parseSubjectAltNames(san: string | undefined): { uris: string[]; dns: string[] } {
  const uris: string[] = [];
  const dns: string[] = [];
  if (!san) return { uris, dns };
  const re = /(DNS|URI|IP Address|email|DirName|othername|Registered ID):("(?:[^"\\]|\\.)*"|[^,]*)(?:, |$)/g;
  for (let m = re.exec(san); m !== null; m = re.exec(san)) {
    let v = m[2];
    if (v.startsWith('"')) {
      try {
        v = JSON.parse(v) as string;
      } catch {
        continue;
      }
    }
    if (m[1] === 'URI') uris.push(v);
    else if (m[1] === 'DNS') dns.push(v.toLowerCase());
    if (m[0] === '') break;
  }
  return { uris, dns };
}

export function sanMatches(m: SanMatcher, san: string | undefined): boolean {
  const { uris, dns } = parseSubjectAltNames(san);
  for (const u of uris) {
    if (m.exactUris.has(u)) return true;
    for (const p of m.prefixes) if (u.startsWith(p)) return true;
  }
  for (const d of dns) {
    if (m.exactDns.has(d)) return true;
    for (const p of m.prefixes) if (d.startsWith(p.toLowerCase())) return true;
  }
  return false;
}

/** A tls `checkServerIdentity` accepting only certificates with a matching SAN. */
export function sanIdentityCheck(entries: readonly string[]): (host: string, cert: PeerCertificate) => Error | undefined {
  const m = compileSanMatcher(entries);
  return (_host, cert) => {
    if (sanMatches(m, cert.subjectaltname)) return undefined;
    const err = new Error('upstream certificate does not carry an accepted subject alternative name') as Error & { code: string };
    err.code = 'ERR_TLS_CERT_ALTNAME_INVALID';
    return err;
  };
}
