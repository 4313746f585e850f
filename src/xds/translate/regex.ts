import { regexError } from '../../config/checks.ts';

// Envoy's safe_regex is RE2. A pattern is accepted when JavaScript's RegExp runs it with the same
// meaning and it passes the same catastrophic-backtracking check as a YAML regex (config/checks.ts);
// anything else is refused (NACK) with the reason. Rewritten on the way: RE2's `(?P<name>…)` → `(?<name>…)`,
// `\A` → `^`, `\z` → `$`, `\Q…\E` → escaped literal. Refused: inline flags `(?i)`, `\p{…}` classes, POSIX
// `[[:alpha:]]` classes, `\C`, `\x{…}`, and what RE2 itself does not have (lookaround, back-references).

export type Re2Result = { ok: true; source: string } | { ok: false; message: string };

export function re2ToJs(src: string): Re2Result {
  let out = '';
  let inClass = false;
  for (let i = 0; i < src.length; i++) {
    const c = src[i]!;
    if (c === '\\') {
      const n = src[i + 1];
      if (n === undefined) return { ok: false, message: 'trailing backslash' };
      if (n === 'Q') {
        const end = src.indexOf('\\E', i + 2);
        const lit = src.slice(i + 2, end === -1 ? undefined : end);
        out += escapeRegex(lit);
        i = end === -1 ? src.length : end + 1;
        continue;
      }
      if (/[1-9]/.test(n) || n === 'k') return { ok: false, message: 'back-references are not RE2 syntax' };
      if (n === 'p' || n === 'P') return { ok: false, message: 'unicode classes \\p{…} are not supported' };
      if (n === 'C') return { ok: false, message: '\\C is not supported' };
      if (n === 'x' && src[i + 2] === '{') return { ok: false, message: '\\x{…} escapes are not supported (use \\xHH)' };
      if (!inClass && n === 'A') {
        out += '^';
        i++;
        continue;
      }
      if (!inClass && n === 'z') {
        out += '$';
        i++;
        continue;
      }
      out += c + n;
      i++;
      continue;
    }
    if (inClass) {
      if (c === '[' && src[i + 1] === ':') return { ok: false, message: 'POSIX classes like [[:alpha:]] are not supported' };
      if (c === ']') inClass = false;
      out += c;
      continue;
    }
    if (c === '[') {
      inClass = true;
      out += c;
      // a `]` right after `[` or `[^` is a literal in both dialects
      if (src[i + 1] === '^') {
        out += '^';
        i++;
      }
      if (src[i + 1] === ']') {
        out += '\\]';
        i++;
      }
      if (src[i + 1] === '[' && src[i + 2] === ':') return { ok: false, message: 'POSIX classes like [[:alpha:]] are not supported' };
      continue;
    }
    if (c === '(' && src[i + 1] === '?') {
      const rest = src.slice(i + 2);
      if (rest.startsWith('P<')) {
        out += '(?<';
        i += 3;
        continue;
      }
      if (rest.startsWith(':') || (rest.startsWith('<') && !rest.startsWith('<=') && !rest.startsWith('<!'))) {
        out += c;
        continue;
      }
      if (/^(=|!|<=|<!)/.test(rest)) return { ok: false, message: 'lookahead and lookbehind are not RE2 syntax' };
      return { ok: false, message: 'inline flags such as (?i) are not supported' };
    }
    out += c;
  }
  const problem = regexError(out);
  return problem === null ? { ok: true, source: out } : { ok: false, message: problem };
}

export function escapeRegex(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}

/** A literal matched without regard to ASCII case, as a regex fragment (`Ab1` → `[aA][bB]1`). */
export function caseInsensitive(s: string): string {
  let out = '';
  for (const ch of s) {
    const lo = ch.toLowerCase();
    const up = ch.toUpperCase();
    out += lo !== up && lo.length === 1 && up.length === 1 ? `[${lo}${up}]` : escapeRegex(ch);
  }
  return out;
}
