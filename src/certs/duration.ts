/**
 * Duration parser for the certificate tooling: one or more `<number><unit>` (`24h`, `1h30m`,
 * `90s`, `500ms`), units `ms`, `s`, `m`, `h` as everywhere in gatehouse, plus `d` (days), which
 * certificate lifetimes commonly use. Returns milliseconds, or null when the text is not a duration.
 *
 * Kept local to src/certs so the CLI does not depend on the config loader.
 */
const UNIT_MS: Record<string, number> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
};

const WHOLE = /^(?:\d+(?:\.\d+)?(?:ms|s|m|h|d))+$/;
const PART = /(\d+(?:\.\d+)?)(ms|s|m|h|d)/g;

export function parseCertDuration(text: string): number | null {
  const s = text.trim();
  if (!WHOLE.test(s)) return null;
  let total = 0;
  for (const m of s.matchAll(PART)) {
    total += Number(m[1]) * UNIT_MS[m[2]!]!;
  }
  if (!Number.isFinite(total)) return null;
  return Math.round(total);
}

/** Human form used in messages, e.g. 86400000 → "24h", 2592000000 → "30d". */
export function formatDuration(ms: number): string {
  for (const [unit, size] of [['d', 86_400_000], ['h', 3_600_000], ['m', 60_000], ['s', 1000]] as const) {
    if (ms >= size && ms % size === 0) return `${ms / size}${unit}`;
  }
  return `${ms}ms`;
}
