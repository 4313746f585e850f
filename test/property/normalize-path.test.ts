import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { normalizePath } from '../../src/router/normalize-path.ts';

// Property tests of the one path normaliser (src/router/normalize-path.ts), on paths built from the
// pieces attacks are made of. What it promises, stated precisely:
//  1. it refuses (null) or returns a path starting with '/';
//  2. it is idempotent: normalising a normalised path changes nothing;
//  3. its output has no empty segment ('//'), no '.' or '..' segment (with or without ';params'),
//     no control character, NUL or non-ASCII byte (raw or encoded), no lower-case or malformed escape,
//     and none of `"#<>`{}` raw (they are encoded);
//  4. an encoded slash is opaque: it is never decoded into a separator and never created, so the
//     output carries at most as many '%2F' as the input, exactly as many when no dot segment removed one;
//  5. the unreserved characters are never left encoded (one spelling per path).

const piece = fc.constantFrom(
  '/', '/', '/', '.', '..', '%2e', '%2E', '%2e%2e', '.%2e', '%2F', '%2f', '%5C', '%5c', '\\', ';', ';x=1', '..;',
  'a', 'b', 'admin', '%41', '%7e', '~', '-', '_', '%20', '%', '%zz', '%2', '%00', '%1f', '%7F', '%C0%AE', '%E0%80%AE',
  '%C3%A9', '%F0%9F%98%80', '%ED%A0%80', 'é', '\t', ' ', '?', '#', '@', ':', '"', '<', '>', '`', '{', '}', '%7b', '%22',
);
const rawPath = fc.array(piece, { minLength: 0, maxLength: 16 }).map((parts) => '/' + parts.join(''));

const RUNS = { numRuns: 2000 };

function countEncodedSlashes(s: string): number {
  return (s.match(/%2f/gi) ?? []).length;
}

test('normalisation refuses or yields a clean, canonical path', () => {
  fc.assert(
    fc.property(rawPath, (p) => {
      const out = normalizePath(p);
      if (out === null) return;
      assert.equal(out.charCodeAt(0), 0x2f, out);
      assert.ok(!out.includes('//'), `empty segment in ${out}`);
      for (const seg of out.split('/')) {
        const head = seg.split(';')[0];
        assert.ok(head !== '.' && head !== '..', `dot segment in ${out}`);
      }
      for (let i = 0; i < out.length; i++) {
        const c = out.charCodeAt(i);
        assert.ok(c >= 0x21 && c <= 0x7e, `raw byte ${c} in ${out}`);
      }
      for (const m of out.matchAll(/%(..)/g)) {
        assert.match(m[1], /^[0-9A-F]{2}$/, `escape %${m[1]} in ${out}`);
        const byte = parseInt(m[1], 16);
        assert.ok(byte >= 0x20 && byte !== 0x7f, `encoded control character in ${out}`);
        assert.ok(!/[A-Za-z0-9\-._~]/.test(String.fromCharCode(byte)), `encoded unreserved character in ${out}`);
      }
      assert.ok(!/%(?![0-9A-F]{2})/.test(out), `malformed escape in ${out}`);
      assert.ok(!/["#<>`{}]/.test(out), `a character a URI may not carry raw in ${out}`);
    }),
    RUNS,
  );
});

test('normalisation is idempotent', () => {
  fc.assert(
    fc.property(rawPath, (p) => {
      const once = normalizePath(p);
      if (once !== null) assert.equal(normalizePath(once), once, p);
    }),
    RUNS,
  );
});

test('an encoded slash is never decoded into a separator, nor created', () => {
  fc.assert(
    fc.property(rawPath, (p) => {
      const out = normalizePath(p);
      if (out === null) return;
      assert.ok(countEncodedSlashes(out) <= countEncodedSlashes(p), `${p} → ${out}`);
      // a raw backslash separates segments too (README "Security"), so `/%2F\..` drops the %2F segment
      const hasDotSegment = p.split(/[/\\]/).some((s) => /^(\.|%2e){1,2}$/i.test(s));
      if (!hasDotSegment) assert.equal(countEncodedSlashes(out), countEncodedSlashes(p), `${p} → ${out}`);
    }),
    RUNS,
  );
});

test('the separators of the output are the input’s own: segments never merge across an encoded slash', () => {
  // Replacing every %2F by a plain letter before normalising gives the same segment structure.
  fc.assert(
    fc.property(rawPath, (p) => {
      const out = normalizePath(p);
      const swapped = normalizePath(p.replace(/%2f/gi, 'Q'));
      if (out === null || swapped === null) return;
      assert.equal(out.replace(/%2F/g, 'Q'), swapped, p);
    }),
    RUNS,
  );
});
