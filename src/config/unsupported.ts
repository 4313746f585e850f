/**
 * Config keys whose behaviour is not built yet. A key listed here that is present in the config
 * (or, with `when`, present with a value that needs the missing behaviour) is refused with
 * `path: not supported yet` — better than accepting a setting that silently does nothing.
 *
 * When a feature lands, delete its line. Patterns: `a.b` walks keys, `a[]` walks every list item.
 * The check runs on the raw (env-substituted) tree, before defaults, so only what the user wrote counts.
 */
import { formatPath, type ConfigError, type PathSegment } from './errors.ts';

export interface UnsupportedRule {
  path: string;
  /** Refuse only when this holds for the value; default: whenever the key is present. */
  when?: (value: unknown) => boolean;
}

export const UNSUPPORTED: readonly UnsupportedRule[] = [
  // every key of the SPEC is built; add a line here for a key whose behaviour is not
];

type Step = { key: string; each: boolean };

export function compile(pattern: string): Step[] {
  return pattern.split('.').map((part) => (part.endsWith('[]') ? { key: part.slice(0, -2), each: true } : { key: part, each: false }));
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Every (path, value) the pattern reaches in `tree`; shapes that do not fit are skipped (the schema reports them). */
export function reach(tree: unknown, steps: Step[]): Array<{ path: PathSegment[]; value: unknown }> {
  let frontier: Array<{ path: PathSegment[]; value: unknown }> = [{ path: [], value: tree }];
  for (const step of steps) {
    const next: typeof frontier = [];
    for (const { path, value } of frontier) {
      if (!isRecord(value) || !Object.hasOwn(value, step.key)) continue;
      const child = value[step.key];
      if (!step.each) next.push({ path: [...path, step.key], value: child });
      else if (Array.isArray(child)) child.forEach((item, i) => next.push({ path: [...path, step.key, i], value: item }));
    }
    frontier = next;
  }
  return frontier;
}

export function findUnsupported(tree: unknown, rules: readonly UnsupportedRule[] = UNSUPPORTED): ConfigError[] {
  const errors: ConfigError[] = [];
  for (const rule of rules) {
    for (const hit of reach(tree, compile(rule.path))) {
      if (hit.value === undefined) continue;
      if (rule.when && !rule.when(hit.value)) continue;
      errors.push({ path: formatPath(hit.path), message: 'not supported yet' });
    }
  }
  return errors;
}
