import type { HeaderMatcherConfig, QueryMatcherConfig } from '../../config/schema.ts';
import { fail, isObj, join, NOT_SUPPORTED, refuseOthers, type Errors, type Obj } from './fields.ts';
import { caseInsensitive, escapeRegex, re2ToJs } from './regex.ts';

// Envoy's StringMatcher / HeaderMatcher / QueryParameterMatcher / RegexMatcher → the config's matcher
// shapes. Our header matchers have exact | prefix | suffix | regex | present | absent, query matchers
// exact | regex | present: the other forms become an anchored regex (`contains` → `.*x.*`,
// `ignore_case` → `[aA]`-style classes).

type Input<T> = { -readonly [K in keyof T]?: T[K] };
export type HeaderMatcherInput = Input<HeaderMatcherConfig>;
export type QueryMatcherInput = Input<QueryMatcherConfig>;

/** A StringMatcher as one of exact | prefix | suffix | regex (regex anchored, whole value). */
export type StringMatch = { exact: string } | { prefix: string } | { suffix: string } | { regex: string };

/** RegexMatcher → a JS regex source with the same meaning, or a NACK. */
export function regexMatcher(m: unknown, path: string, errors: Errors): string | null {
  if (!isObj(m)) return fail(errors, path, 'expected a regex matcher');
  refuseOthers(m, 'envoy.type.matcher.v3.RegexMatcher', ['regex'], ['google_re2', 'engine_type'], path, errors);
  const r = re2ToJs(String(m.regex ?? ''));
  return r.ok ? r.source : fail(errors, join(path, 'regex'), r.message);
}

export function stringMatcher(m: unknown, path: string, errors: Errors): StringMatch | null {
  if (!isObj(m)) return fail(errors, path, 'expected a string matcher');
  refuseOthers(m, 'envoy.type.matcher.v3.StringMatcher', ['exact', 'prefix', 'suffix', 'safe_regex', 'contains', 'ignore_case'], [], path, errors);
  const ci = m.ignore_case === true;
  const lit = (s: string) => (ci ? caseInsensitive(s) : escapeRegex(s));
  switch (m.match_pattern) {
    case 'exact':
      return ci ? { regex: lit(String(m.exact)) } : { exact: String(m.exact) };
    case 'prefix':
      return ci ? { regex: `${lit(String(m.prefix))}.*` } : { prefix: String(m.prefix) };
    case 'suffix':
      return ci ? { regex: `.*${lit(String(m.suffix))}` } : { suffix: String(m.suffix) };
    case 'contains':
      return { regex: `.*${lit(String(m.contains))}.*` };
    case 'safe_regex': {
      // Envoy: ignore_case has no effect on safe_regex.
      const re = regexMatcher(m.safe_regex, join(path, 'safe_regex'), errors);
      return re === null ? null : { regex: re };
    }
    case 'custom':
      return fail(errors, join(path, 'custom'), NOT_SUPPORTED);
    default:
      return fail(errors, path, 'no match pattern set');
  }
}

/** An empty prefix or suffix matches any present value: our schema wants them non-empty. */
function nonEmpty(s: StringMatch): StringMatch | { present: true } {
  if ('prefix' in s && s.prefix === '') return { present: true };
  if ('suffix' in s && s.suffix === '') return { present: true };
  return s;
}

/**
 * HeaderMatcher → our header matcher. `:authority` is matched as `host`; other pseudo-headers are
 * refused (`:method` is turned into `methods` by the route translator before this is called).
 */
export function headerMatcher(m: Obj, path: string, errors: Errors): HeaderMatcherInput | null {
  refuseOthers(
    m,
    'envoy.config.route.v3.HeaderMatcher',
    ['name', 'exact_match', 'safe_regex_match', 'present_match', 'prefix_match', 'suffix_match', 'contains_match', 'string_match', 'invert_match'],
    [],
    path,
    errors,
  );
  let name = String(m.name ?? '').toLowerCase();
  if (name === ':authority') name = 'host';
  else if (name.startsWith(':')) return fail(errors, join(path, 'name'), `pseudo-header ${name} is not supported`);
  if (name === '') return fail(errors, join(path, 'name'), 'required');
  const invert = m.invert_match === true;
  let kind: StringMatch | { present: true } | { absent: true } | null;
  switch (m.header_match_specifier) {
    case undefined:
      kind = { present: true }; // Envoy: no specifier matches on presence
      break;
    case 'present_match':
      kind = m.present_match === true ? { present: true } : { absent: true };
      break;
    case 'exact_match':
      kind = { exact: String(m.exact_match) };
      break;
    case 'prefix_match':
      kind = { prefix: String(m.prefix_match) };
      break;
    case 'suffix_match':
      kind = { suffix: String(m.suffix_match) };
      break;
    case 'contains_match':
      kind = { regex: `.*${escapeRegex(String(m.contains_match))}.*` };
      break;
    case 'safe_regex_match': {
      const re = regexMatcher(m.safe_regex_match, join(path, 'safe_regex_match'), errors);
      kind = re === null ? null : { regex: re };
      break;
    }
    case 'string_match':
      kind = stringMatcher(m.string_match, join(path, 'string_match'), errors);
      break;
    default:
      return fail(errors, join(path, String(m.header_match_specifier)), NOT_SUPPORTED);
  }
  if (kind === null) return null;
  return { name, ...nonEmpty(kind as StringMatch), ...(invert ? { invert: true } : {}) };
}

export function queryMatcher(m: Obj, path: string, errors: Errors): QueryMatcherInput | null {
  refuseOthers(m, 'envoy.config.route.v3.QueryParameterMatcher', ['name', 'string_match', 'present_match'], [], path, errors);
  const name = String(m.name ?? '');
  if (name === '') return fail(errors, join(path, 'name'), 'required');
  if (m.query_parameter_match_specifier === 'present_match') {
    if (m.present_match !== true) return fail(errors, join(path, 'present_match'), 'false is not supported (a query matcher cannot require absence)');
    return { name, present: true };
  }
  if (m.query_parameter_match_specifier !== 'string_match') return { name, present: true };
  const s = stringMatcher(m.string_match, join(path, 'string_match'), errors);
  if (s === null) return null;
  if ('exact' in s) return { name, exact: s.exact };
  if ('regex' in s) return { name, regex: s.regex };
  if ('prefix' in s) return { name, regex: `${escapeRegex(s.prefix)}.*` };
  return { name, regex: `.*${escapeRegex(s.suffix)}` };
}
