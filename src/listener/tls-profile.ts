import { createSecureContext } from 'node:tls';

// The TLS parameters of a public listener. The default is Mozilla's "intermediate" profile
// (https://wiki.mozilla.org/Security/Server_Side_TLS, v5.7), without its DHE suites: TLS 1.2 with
// ECDHE key exchange and AES-GCM or ChaCha20-Poly1305 only (forward secrecy, AEAD, no CBC, no SHA-1
// MACs, no static RSA), every TLS 1.3 suite, and the curves X25519, P-256, P-384.

/** TLS 1.3 suites (OpenSSL names them TLS_*); kept when `tls.ciphers` names none. */
export const TLS13_SUITES = 'TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256';

export const INTERMEDIATE_TLS12_CIPHERS = [
  'ECDHE-ECDSA-AES128-GCM-SHA256',
  'ECDHE-RSA-AES128-GCM-SHA256',
  'ECDHE-ECDSA-AES256-GCM-SHA384',
  'ECDHE-RSA-AES256-GCM-SHA384',
  'ECDHE-ECDSA-CHACHA20-POLY1305',
  'ECDHE-RSA-CHACHA20-POLY1305',
].join(':');

export const DEFAULT_CIPHERS = `${TLS13_SUITES}:${INTERMEDIATE_TLS12_CIPHERS}`;
export const DEFAULT_ECDH_CURVES = 'X25519:prime256v1:secp384r1';

/**
 * The cipher string node is given: the configured OpenSSL list, with the TLS 1.3 suites added when
 * it names none (node would otherwise turn TLS 1.3 off; Envoy's cipher_suites likewise governs
 * TLS 1.2 only).
 */
export function effectiveCiphers(configured: string): string {
  return configured.split(':').some((c) => c.startsWith('TLS_')) ? configured : `${TLS13_SUITES}:${configured}`;
}

/** null when OpenSSL accepts the cipher list, else a message for `tls.ciphers`. */
export function cipherListError(ciphers: string): string | null {
  try {
    createSecureContext({ ciphers: effectiveCiphers(ciphers) });
    return null;
  } catch (err) {
    return `not a usable OpenSSL cipher list (${(err as Error).message})`;
  }
}

/** null when OpenSSL knows every curve, else a message for `tls.ecdhCurves`. */
export function curveListError(curves: string): string | null {
  try {
    createSecureContext({ ecdhCurve: curves });
    return null;
  } catch (err) {
    return `not a usable curve list, e.g. X25519:prime256v1 (${(err as Error).message})`;
  }
}
