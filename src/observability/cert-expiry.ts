import { X509Certificate } from 'node:crypto';

// notAfter of PEM certificates, for gatehouse_certificate_expiry_timestamp_seconds: read when a
// generation is compiled (the files are read then anyway), never at scrape time.

const PEM_BLOCK = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

/** Answers by file contents: clusters that share certificate files share their Buffers (one read per compile), and parse once. */
const earliestOf = new WeakMap<Buffer, number | null>();
const leafOf = new WeakMap<Buffer, number | null>();

function memo(cache: WeakMap<Buffer, number | null>, pem: string | Buffer, read: (pem: string | Buffer) => number | null): number | null {
  if (typeof pem === 'string') return read(pem);
  const known = cache.get(pem);
  if (known !== undefined) return known;
  const t = read(pem);
  cache.set(pem, t);
  return t;
}

/** The earliest notAfter (seconds since the epoch) among the certificates in `pem`, or null when none parses. */
export function earliestExpiry(pem: string | Buffer | undefined): number | null {
  return pem === undefined ? null : memo(earliestOf, pem, readEarliest);
}

function readEarliest(pem: string | Buffer): number | null {
  let earliest: number | null = null;
  for (const block of String(pem).match(PEM_BLOCK) ?? []) {
    try {
      const t = Date.parse(new X509Certificate(block).validTo) / 1000;
      if (Number.isFinite(t) && (earliest === null || t < earliest)) earliest = t;
    } catch {
      /* not a certificate we can read: the TLS layer reports it */
    }
  }
  return earliest;
}

/** notAfter of the first (leaf) certificate of a chain file. */
export function leafExpiry(pem: string | Buffer | undefined): number | null {
  return pem === undefined ? null : memo(leafOf, pem, (p) => {
    const first = String(p).match(PEM_BLOCK)?.[0];
    return first === undefined ? null : readEarliest(first);
  });
}
