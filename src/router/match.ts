import type { IncomingHttpHeaders } from 'node:http';
import type { HeaderMatcherConfig, QueryMatcherConfig, RouteMatchConfig } from '../config/schema.ts';
import type { RouteRequest } from './types.ts';

// Route predicates, compiled once per generation into small closures: path (prefix | exact | whole-path
// regex), methods, header matchers and query matchers. Regexes are anchored (`^(?:re)$`) so they must
// match the whole path or value; they were checked for catastrophic backtracking at validation.

type Pred = (r: RouteRequest) => boolean;

/** Anchored form of an operator's regex: it must match the whole value. */
export function wholeRegex(source: string): RegExp {
  return new RegExp(`^(?:${source})$`);
}

export function compilePathPredicate(m: RouteMatchConfig): Pred {
  if (m.path !== undefined) {
    const exact = m.path;
    return (r) => r.path === exact;
  }
  if (m.regex !== undefined) {
    const re = wholeRegex(m.regex);
    return (r) => re.test(r.path);
  }
  const prefix = m.prefix ?? '/';
  if (prefix === '/') return () => true;
  return (r) => r.path.startsWith(prefix);
}

function headerValue(headers: IncomingHttpHeaders, name: string): string | undefined {
  // `host` means the authority on both protocols (HTTP/2 sends `:authority`, not `host`).
  const v = name === 'host' ? (headers[':authority'] ?? headers.host) : headers[name];
  // Repeated headers are matched on their comma-joined value (as Envoy does).
  return v === undefined ? undefined : Array.isArray(v) ? v.join(',') : v;
}

export type HeaderTest = (headers: IncomingHttpHeaders) => boolean;

/**
 * One header matcher, per the SPEC: on a missing header only `absent` is true; `invert` flips the
 * result. Shared by route matching and authz rules (filters/authz).
 */
export function compileHeaderTest(m: HeaderMatcherConfig): HeaderTest {
  const lower = m.name.toLowerCase();
  const name = lower === ':authority' ? 'host' : lower;
  let test: (v: string | undefined) => boolean;
  if (m.present) test = (v) => v !== undefined;
  else if (m.absent) test = (v) => v === undefined;
  else if (m.exact !== undefined) {
    const x = m.exact;
    test = (v) => v === x;
  } else if (m.prefix !== undefined) {
    const x = m.prefix;
    test = (v) => v !== undefined && v.startsWith(x);
  } else if (m.suffix !== undefined) {
    const x = m.suffix;
    test = (v) => v !== undefined && v.endsWith(x);
  } else {
    const re = wholeRegex(m.regex!);
    test = (v) => v !== undefined && re.test(v);
  }
  return m.invert ? (h) => !test(headerValue(h, name)) : (h) => test(headerValue(h, name));
}

/** A header matcher as a route predicate. */
export function compileHeaderMatcher(m: HeaderMatcherConfig): Pred {
  const t = compileHeaderTest(m);
  return (r) => t(r.headers);
}

export function compileQueryMatcher(m: QueryMatcherConfig): Pred {
  const name = m.name;
  if (m.present) return (r) => r.queryParam(name) !== undefined;
  if (m.exact !== undefined) {
    const x = m.exact;
    return (r) => r.queryParam(name) === x;
  }
  const re = wholeRegex(m.regex!);
  return (r) => {
    const v = r.queryParam(name);
    return v !== undefined && re.test(v);
  };
}

/**
 * One condition of a route's `match`, named for `explain`. The route's fast predicate is composed of
 * these same functions, so explain's "first condition that failed" is exactly what routing tested.
 */
export interface RouteCondition {
  /** e.g. `prefix /checkout`, `methods GET,POST`, `header x-env prefix "prod"`. */
  readonly describe: string;
  readonly test: Pred;
  /** What the condition looked at in `r` (the path, the method, a header or query value), for explain. */
  observed(r: RouteRequest): string;
}

const shown = (v: string | undefined) => (v === undefined ? '(absent)' : JSON.stringify(v));

function describeHeader(m: HeaderMatcherConfig): string {
  const how =
    m.present ? 'present'
    : m.absent ? 'absent'
    : m.exact !== undefined ? `exact ${JSON.stringify(m.exact)}`
    : m.prefix !== undefined ? `prefix ${JSON.stringify(m.prefix)}`
    : m.suffix !== undefined ? `suffix ${JSON.stringify(m.suffix)}`
    : `regex ${JSON.stringify(m.regex)}`;
  return `header ${m.name.toLowerCase()} ${how}${m.invert ? ' (inverted)' : ''}`;
}

function describeQuery(m: QueryMatcherConfig): string {
  const how = m.present ? 'present' : m.exact !== undefined ? `exact ${JSON.stringify(m.exact)}` : `regex ${JSON.stringify(m.regex)}`;
  return `query ${m.name} ${how}`;
}

function describePath(m: RouteMatchConfig): string {
  if (m.path !== undefined) return `path ${m.path}`;
  if (m.regex !== undefined) return `regex ${m.regex}`;
  return `prefix ${m.prefix ?? '/'}`;
}

/** The conditions of a route's `match`, cheap ones (path, method) first: the order they are tested in. */
export function compileConditions(m: RouteMatchConfig): RouteCondition[] {
  const out: RouteCondition[] = [{ describe: describePath(m), test: compilePathPredicate(m), observed: (r) => r.path }];
  if (m.methods && m.methods.length > 0) {
    const methods = new Set(m.methods);
    out.push({ describe: `methods ${m.methods.join(',')}`, test: (r) => methods.has(r.method), observed: (r) => r.method });
  }
  for (const h of m.headers ?? []) {
    const lower = h.name.toLowerCase();
    const name = lower === ':authority' ? 'host' : lower;
    out.push({ describe: describeHeader(h), test: compileHeaderMatcher(h), observed: (r) => shown(headerValue(r.headers, name)) });
  }
  for (const q of m.query ?? []) out.push({ describe: describeQuery(q), test: compileQueryMatcher(q), observed: (r) => shown(r.queryParam(q.name)) });
  return out;
}

/** All conditions as one predicate (the routing fast path). */
export function allOf(conditions: readonly RouteCondition[]): Pred {
  const preds = conditions.map((c) => c.test);
  if (preds.length === 1) return preds[0];
  if (preds.length === 2) {
    const [a, b] = preds;
    return (r) => a(r) && b(r);
  }
  return (r) => {
    for (let i = 0; i < preds.length; i++) if (!preds[i](r)) return false;
    return true;
  };
}

/** The route's whole `match` as one predicate; the cheap checks (path, method) run first. */
export function compileMatch(m: RouteMatchConfig): Pred {
  return allOf(compileConditions(m));
}

/** Tracing mode of the matcher: the first condition `r` fails, or null when the route matches. */
export function firstFailure(conditions: readonly RouteCondition[], r: RouteRequest): RouteCondition | null {
  for (const c of conditions) if (!c.test(r)) return c;
  return null;
}

function decodeQueryPart(s: string): string {
  if (s.indexOf('%') === -1 && s.indexOf('+') === -1) return s;
  try {
    return decodeURIComponent(s.replaceAll('+', ' '));
  } catch {
    return s; // a malformed escape is matched as written
  }
}

/** The request as route predicates see it; the query is parsed lazily, at most once. */
export class RouteInput implements RouteRequest {
  private params: Map<string, string> | null = null;

  constructor(
    readonly path: string,
    readonly method: string,
    readonly headers: IncomingHttpHeaders,
    /** The query with its leading '?', or ''. */
    private readonly query: string,
  ) {}

  queryParam(name: string): string | undefined {
    if (this.params === null) {
      const params = new Map<string, string>();
      if (this.query.length > 1) {
        for (const part of this.query.slice(1).split('&')) {
          if (part === '') continue;
          const eq = part.indexOf('=');
          const k = decodeQueryPart(eq === -1 ? part : part.slice(0, eq));
          // The first occurrence of a name counts.
          if (!params.has(k)) params.set(k, eq === -1 ? '' : decodeQueryPart(part.slice(eq + 1)));
        }
      }
      this.params = params;
    }
    return this.params.get(name);
  }
}
