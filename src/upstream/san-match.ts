import type { PeerCertificate } from 'node:tls';

// matchSubjectAltNames: the identity check of a mesh server certificate. SAN types are kept apart:
// a SPIFFE identity is a URI SAN, and a DNS SAN that happens to spell one (any workload may get a
// DNS name of its choice from some CAs) must never pass for it. Each entry is one of
//   uri:<v>          exact URI SAN              dns:<v>          exact DNS SAN (case-insensitive)
//   uri-prefix:<v>   URI SAN starting with <v>  dns-prefix:<v>   DNS SAN starting with <v>
//   <v>              exact; a URI SAN when <v> looks like a URI (contains "://"), else a DNS SAN
//   prefix:<v>       prefix (legacy form), with the same "looks like a URI" rule
// (the xDS translation writes Envoy's SAN matchers in exactly this syntax).
// Compiled once per cluster into a `checkServerIdentity` for tls.connect. When the list is given it
// replaces the host-name check (as Envoy/Istio do); chain verification stays on (rejectUnauthorized).

export interface SanEntry {
  readonly type: 'uri' | 'dns';
  readonly prefix: boolean;
  /** DNS values are lower-cased. */
  readonly value: string;
}

const TYPED: Record<string, { type: 'uri' | 'dns'; prefix: boolean }> = {
  'uri:': { type: 'uri', prefix: false },
  'dns:': { type: 'dns', prefix: false },
  'uri-prefix:': { type: 'uri', prefix: true },
  'dns-prefix:': { type: 'dns', prefix: true },
};

const looksLikeUri = (v: string) => v.includes('://');

/** One `matchSubjectAltNames` entry, or an error message (the schema reports it as `path: message`). */
export function parseSanEntry(entry: string): SanEntry | string {
  let type: 'uri' | 'dns';
  let prefix = false;
  let value: string;
  const colon = entry.indexOf(':');
  const tag = colon > 0 ? entry.slice(0, colon + 1).toLowerCase() : '';
  const typed = TYPED[tag];
  if (typed !== undefined) {
    ({ type, prefix } = typed);
    value = entry.slice(tag.length);
  } else if (tag === 'prefix:') {
    value = entry.slice(tag.length);
    type = looksLikeUri(value) ? 'uri' : 'dns';
    prefix = true;
  } else if (looksLikeUri(entry)) {
    type = 'uri';
    value = entry;
  } else if (/^[a-z][a-z0-9-]*:/i.test(entry)) {
    return `unknown SAN type "${tag || entry.slice(0, colon + 1)}" (expected uri:, dns:, uri-prefix:, dns-prefix: or prefix:)`;
  } else {
    type = 'dns';
    value = entry;
  }
  if (value === '') return 'empty SAN value';
  return { type, prefix, value: type === 'dns' ? value.toLowerCase() : value };
}

export interface SanMatcher {
  readonly exactUris: ReadonlySet<string>;
  readonly exactDns: ReadonlySet<string>;
  readonly uriPrefixes: readonly string[];
  readonly dnsPrefixes: readonly string[];
}

export function compileSanMatcher(entries: readonly string[]): SanMatcher {
  const exactUris = new Set<string>();
  const exactDns = new Set<string>();
  const uriPrefixes: string[] = [];
  const dnsPrefixes: string[] = [];
  for (const e of entries) {
    const m = parseSanEntry(e);
    if (typeof m === 'string') throw new Error(`matchSubjectAltNames "${e}": ${m}`); // the schema refused it already
    if (m.type === 'uri') (m.prefix ? uriPrefixes.push(m.value) : exactUris.add(m.value));
    else m.prefix ? dnsPrefixes.push(m.value) : exactDns.add(m.value);
  }
  return { exactUris, exactDns, uriPrefixes, dnsPrefixes };
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
    for (const p of m.uriPrefixes) if (u.startsWith(p)) return true;
  }
  for (const d of dns) {
    if (m.exactDns.has(d)) return true;
    for (const p of m.dnsPrefixes) if (d.startsWith(p)) return true;
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
