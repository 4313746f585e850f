import { X509Certificate } from 'node:crypto';

// notAfter of PEM certificates, for gatehouse_certificate_expiry_timestamp_seconds: read when a
// generation is compiled (the files are read then anyway), never at scrape time.

const PEM_BLOCK = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

/** The earliest notAfter (seconds since the epoch) among the certificates in `pem`, or null when none parses. */
export function earliestExpiry(pem: string | Buffer | undefined): number | null {
  if (pem === undefined) return null;
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
  if (pem === undefined) return null;
  const first = String(pem).match(PEM_BLOCK)?.[0];
  return first === undefined ? null : earliestExpiry(first);
}
