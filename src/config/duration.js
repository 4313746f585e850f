/**
 * Duration strings of the config file: one or more `<number><unit>` with units
 * ms, s, m, h — `250ms`, `10s`, `1m30s`, `1.5s`, `0s` (SPEC "Precise semantics").
 * No sign, no spaces, no bare numbers: a typo must not silently mean something.
 */
const UNIT_MS = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };
// `ms` must come before `m` in the alternation, or `250ms` would lex as `250m` + `s`.
const PART = /(\d+(?:\.\d+)?)(ms|h|m|s|d)/y;
/**
 * Milliseconds for a duration string, or null when it is not one. `d` (days) is accepted only with
 * `allowDays` (certificate lifetimes use it; the config file does not).
 */
export function parseDuration(s, allowDays = false) {
    if (typeof s !== 'string' || s.length === 0)
        return null;
    let total = 0;
    PART.lastIndex = 0;
    while (PART.lastIndex < s.length) {
        const m = PART.exec(s);
        if (m === null || (m[2] === 'd' && !allowDays))
            return null;
        total += Number(m[1]) * UNIT_MS[m[2]];
    }
    if (!Number.isFinite(total))
        return null;
    // Avoid float noise such as 1.1s → 1100.0000000000002 (keeps microsecond precision).
    return Math.round(total * 1000) / 1000;
}
/** Human form of a millisecond count, for messages and the admin page (`90000` → `1m30s`). */
export function formatDuration(ms) {
    if (ms === 0)
        return '0s';
    let rest = ms;
    let out = '';
    for (const [unit, size] of [['h', 3_600_000], ['m', 60_000], ['s', 1_000]]) {
        const n = Math.floor(rest / size);
        if (n > 0) {
            out += `${n}${unit}`;
            rest -= n * size;
        }
    }
    if (rest > 0)
        out += `${rest}ms`;
    return out;
}
