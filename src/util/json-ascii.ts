// JSON string content written as ASCII bytes straight into a buffer, for lines encoded without
// building a string (observability/access-line.ts): printable ASCII is copied, `"` and `\` are
// escaped, and everything else (controls, DEL, any non-ASCII UTF-16 unit, lone surrogates included)
// becomes \uXXXX, which is valid JSON for any character. So a value of n characters takes at most
// JSON_ESCAPED_MAX × n bytes, known before a byte is written.

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const HEX = Buffer.from('0123456789abcdef', 'latin1');

/** Bytes one character may take once escaped (\uXXXX). */
export const JSON_ESCAPED_MAX = 6;

export function putBytes(b: Buffer, o: number, bytes: Uint8Array): number {
  b.set(bytes, o); // a builtin's copy: faster per access line than a byte loop
  return o + bytes.length;
}

/**
 * Text the gateway made itself and knows to be printable ASCII with no `"` or `\` (a hex trace id,
 * a protocol or TLS version, an error code, response flags): copied as it is, unchecked.
 */
export function putOwnAscii(b: Buffer, o: number, s: string): number {
  for (let i = 0; i < s.length; i++) b[o + i] = s.charCodeAt(i);
  return o + s.length;
}

/** Anything a JSON string may not hold as it is, or that is not printable ASCII. */
const NEEDS_ESCAPE = /[^\x20\x21\x23-\x5b\x5d-\x7e]/;

/** Any text as a JSON string's content, without its quotes: printable ASCII as is, the rest escaped. */
export function putAsciiJsonChars(b: Buffer, o: number, s: string): number {
  // Most values (ids, paths, addresses) need no escaping: one native scan and one copy.
  if (s.length > 8 && !NEEDS_ESCAPE.test(s)) return o + b.write(s, o, 'latin1');
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0x20 && c < 0x7f) {
      if (c === QUOTE || c === BACKSLASH) b[o++] = BACKSLASH;
      b[o++] = c;
    } else {
      b[o++] = BACKSLASH;
      b[o++] = 0x75; // u
      b[o++] = HEX[c >> 12]!;
      b[o++] = HEX[(c >> 8) & 15]!;
      b[o++] = HEX[(c >> 4) & 15]!;
      b[o++] = HEX[c & 15]!;
    }
  }
  return o;
}

/**
 * A name from config or discovery (route, cluster, endpoint address) as a JSON string's bytes,
 * quotes included: made once where the route, cluster or endpoint is built, copied into every line.
 */
export function jsonStringBytes(s: string): Uint8Array {
  const b = Buffer.allocUnsafe(2 + JSON_ESCAPED_MAX * s.length);
  b[0] = QUOTE;
  const end = putAsciiJsonChars(b, 1, s);
  b[end] = QUOTE;
  return new Uint8Array(b.subarray(0, end + 1)); // its own small copy, not a view of the shared pool
}
