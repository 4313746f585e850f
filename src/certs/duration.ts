import { parseDuration } from '../config/duration.ts';

/**
 * Durations for the certificate tooling: the config's grammar (`24h`, `1h30m`, `90s`, `500ms`) plus
 * `d` (days), which certificate lifetimes commonly use. Whole milliseconds, or null when the text is
 * not a duration.
 */
export function parseCertDuration(text: string): number | null {
  const ms = parseDuration(text.trim(), true);
  return ms === null ? null : Math.round(ms);
}
