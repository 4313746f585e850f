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
  // Function-level consts only: the closure gets one context (see compileHeaderTest).
  const exact = m.path ?? '';
  const re = m.path === undefined && m.regex !== undefined ? wholeRegex(m.regex) : null;
  const prefix = m.prefix ?? '/';
  if (m.path !== undefined) return (r) => r.path === exact;
  if (re !== null) return (r) => re.test(r.path);
  if (prefix === '/') return MATCH_ANY;
  return (r) => r.path.startsWith(prefix);
}

const MATCH_ANY: Pred = () => true;

function headerValue(headers: IncomingHttpHeaders, name: string): string | undefined {
  // `host` means the authority on both protocols (HTTP/2 sends `:authority`, not `host`).
  const v = name === 'host' ? (headers[':authority'] ?? headers.host) : headers[name];
  // Repeated headers are matched on their comma-joined value (as Envoy does).
  return v === undefined ? undefined : Array.isArray(v) ? v.join(',') : v;
}

/** The header a matcher reads, as `headerValue` expects it (lower case; `:authority` is `host`). */
function headerKey(m: HeaderMatcherConfig): string {
  const lower = m.name.toLowerCase();
  return lower === ':authority' ? 'host' : lower;
}

/** What a header matcher reads: the request's headers (a RouteRequest, an IncomingMessage). */
export interface HeaderSource {
  readonly headers: IncomingHttpHeaders;
}

export type HeaderTest = (src: HeaderSource) => boolean;

/**
 * One header matcher, per the SPEC: on a missing header only `absent` is true; `invert` flips the
 * result. Shared by route matching (a RouteRequest is a HeaderSource) and authz rules. One closure
 * and one context per matcher — every value it needs is a function-level const — because a
 * 10,000-route table compiles tens of thousands of them and a reload copies each through the
 * young generation.
 */
export function compileHeaderTest(m: HeaderMatcherConfig): HeaderTest {
  const name = headerKey(m);
  const inv = m.invert === true;
  const x = m.exact ?? m.prefix ?? m.suffix ?? '';
  if (m.present) return (s) => (headerValue(s.headers, name) !== undefined) !== inv;
  if (m.absent) return (s) => (headerValue(s.headers, name) === undefined) !== inv;
  if (m.exact !== undefined) return (s) => (headerValue(s.headers, name) === x) !== inv;
  if (m.prefix !== undefined) {
    return (s) => {
      const v = headerValue(s.headers, name);
      return (v !== undefined && v.startsWith(x)) !== inv;
    };
  }
  if (m.suffix !== undefined) {
    return (s) => {
      const v = headerValue(s.headers, name);
      return (v !== undefined && v.endsWith(x)) !== inv;
    };
  }
  const re = wholeRegex(m.regex!); // still function-level: the same one context
  return (s) => {
    const v = headerValue(s.headers, name);
    return (v !== undefined && re.test(v)) !== inv;
  };
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

/**
 * One condition of a route's `match`, named for `explain`. The route's fast predicate is composed of
 * these same `test` functions, so explain's "first condition that failed" is exactly what routing
 * tested. Its text and what it looked at are worked out only when asked (explain, /routes, /stats),
 * from the config it was compiled from: a large table keeps one small object per condition.
 */
export class RouteCondition {
  private constructor(
    readonly test: Pred,
    private readonly kind: 'path' | 'methods' | 'header' | 'query',
    private readonly config: RouteMatchConfig | HeaderMatcherConfig | QueryMatcherConfig,
  ) {}

  static path(m: RouteMatchConfig): RouteCondition {
    return new RouteCondition(compilePathPredicate(m), 'path', m);
  }

  static methods(m: RouteMatchConfig): RouteCondition {
    const methods = new Set(m.methods);
    return new RouteCondition((r) => methods.has(r.method), 'methods', m);
  }

  static header(h: HeaderMatcherConfig): RouteCondition {
    return new RouteCondition(compileHeaderTest(h), 'header', h);
  }

  static query(q: QueryMatcherConfig): RouteCondition {
    return new RouteCondition(compileQueryMatcher(q), 'query', q);
  }

  /** e.g. `prefix /checkout`, `methods GET,POST`, `header x-env prefix "prod"`. */
  get describe(): string {
    switch (this.kind) {
      case 'path':
        return describePath(this.config as RouteMatchConfig);
      case 'methods':
        return `methods ${(this.config as RouteMatchConfig).methods!.join(',')}`;
      case 'header':
        return describeHeader(this.config as HeaderMatcherConfig);
      case 'query':
        return describeQuery(this.config as QueryMatcherConfig);
    }
  }

  /** What the condition looked at in `r` (the path, the method, a header or query value), for explain. */
  observed(r: RouteRequest): string {
    switch (this.kind) {
      case 'path':
        return r.path;
      case 'methods':
        return r.method;
      case 'header':
        return shown(headerValue(r.headers, headerKey(this.config as HeaderMatcherConfig)));
      case 'query':
        return shown(r.queryParam((this.config as QueryMatcherConfig).name));
    }
  }
}

/** The conditions of a route's `match`, cheap ones (path, method) first: the order they are tested in. */
export function compileConditions(m: RouteMatchConfig): RouteCondition[] {
  const methods = m.methods !== undefined && m.methods.length > 0;
  const headers = m.headers ?? NONE;
  const query = m.query ?? NONE;
  // Sized once: an array grown by push keeps room for 17 (a large table holds one per route).
  const out: RouteCondition[] = new Array(1 + (methods ? 1 : 0) + headers.length + query.length);
  let n = 0;
  out[n++] = RouteCondition.path(m);
  if (methods) out[n++] = RouteCondition.methods(m);
  for (let i = 0; i < headers.length; i++) out[n++] = RouteCondition.header(headers[i] as HeaderMatcherConfig);
  for (let i = 0; i < query.length; i++) out[n++] = RouteCondition.query(query[i] as QueryMatcherConfig);
  return out;
}

const NONE: readonly never[] = [];

/** All conditions as one predicate (the routing fast path). */
export function allOf(conditions: readonly RouteCondition[]): Pred {
  if (conditions.length === 1) return conditions[0]!.test;
  if (conditions.length === 2) {
    const a = conditions[0]!.test;
    const b = conditions[1]!.test;
    return (r) => a(r) && b(r);
  }
  const preds = conditions.map((c) => c.test);
  return (r) => {
    for (let i = 0; i < preds.length; i++) if (!preds[i]!(r)) return false;
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
