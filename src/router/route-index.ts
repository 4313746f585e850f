import type { RouteMatchConfig } from '../config/schema.ts';
import type { CompiledRoute, RouteRequest } from './types.ts';

// Route lookup inside one virtual host, indexed by the first path segment so a host with thousands
// of routes does not test them one by one — while keeping first-match-wins exactly.
//
// Every route falls in one class by its path match:
//  - keyed:    its first segment is fully known (`path: /a/b`, `prefix: /a/`, `prefix: /a/b`) → "a"
//  - partial:  `prefix: /ab` matches any first segment that starts with "ab" ("/ab", "/ab/x", "/abc")
//  - keyed too: a regex that starts with a literal first segment (`/api/v[0-9]+/.*` → "api")
//  - wildcard: `prefix: /` and other `regex:` routes, which may match any path
// For every known segment K, the keyed and partial routes that can match K are merged in route order
// at compile time. A request looks up its first segment and walks that list and the wildcard list
// together in route order (two cursors, no allocation); only the candidates are tested in full.
// A segment nobody named (mostly 404 traffic) collects the partial routes by probing its prefixes.

const LINEAR_MAX = 8; // below this, a plain scan is as fast as the index
const REGEX_LITERAL_SEGMENT = /^\/([A-Za-z0-9_~-]*)\//;

type Kind = { kind: 'keyed'; key: string } | { kind: 'partial'; key: string } | { kind: 'wildcard' };

function classify(m: RouteMatchConfig): Kind {
  if (m.path !== undefined) {
    const end = m.path.indexOf('/', 1);
    return { kind: 'keyed', key: end === -1 ? m.path.slice(1) : m.path.slice(1, end) };
  }
  if (m.prefix !== undefined && m.prefix !== '/') {
    const end = m.prefix.indexOf('/', 1);
    return end === -1 ? { kind: 'partial', key: m.prefix.slice(1) } : { kind: 'keyed', key: m.prefix.slice(1, end) };
  }
  if (m.regex !== undefined) {
    // `/api/v[0-9]+` (anchored) can only match first segment "api": a literal first segment closed by
    // a '/' that no quantifier touches, and no alternation anywhere that could open another branch.
    const lit = REGEX_LITERAL_SEGMENT.exec(m.regex);
    if (lit && !m.regex.includes('|') && !'*+?{'.includes(m.regex.charAt(lit[0].length))) {
      return { kind: 'keyed', key: lit[1] };
    }
  }
  return { kind: 'wildcard' };
}

const EMPTY: readonly CompiledRoute[] = Object.freeze([]);

function byOrder(a: CompiledRoute, b: CompiledRoute): number {
  return a.order - b.order;
}

export function firstSegment(path: string): string {
  const end = path.indexOf('/', 1);
  return end === -1 ? path.slice(1) : path.slice(1, end);
}

export class RouteIndex {
  private readonly routes: readonly CompiledRoute[];
  private readonly bySegment = new Map<string, readonly CompiledRoute[]>();
  private readonly partials = new Map<string, CompiledRoute[]>();
  private readonly wildcards: CompiledRoute[] = [];
  private maxPartial = 0;
  private readonly linear: boolean;

  /** `routes` in config order with `order` = their position; `matches[i]` is route i's match config. */
  constructor(routes: readonly CompiledRoute[], matches: readonly RouteMatchConfig[]) {
    this.routes = routes;
    this.linear = routes.length <= LINEAR_MAX;
    if (this.linear) return;
    const keyed = new Map<string, CompiledRoute[]>();
    routes.forEach((r, i) => {
      const k = classify(matches[i]);
      if (k.kind === 'wildcard') this.wildcards.push(r);
      else {
        const map = k.kind === 'keyed' ? keyed : this.partials;
        let list = map.get(k.key);
        if (!list) map.set(k.key, (list = []));
        list.push(r);
        if (k.kind === 'partial') this.maxPartial = Math.max(this.maxPartial, k.key.length);
      }
    });
    const keys = new Set([...keyed.keys(), ...this.partials.keys()]);
    for (const key of keys) {
      const own = keyed.get(key);
      const fromPartials = this.partialsFor(key);
      if (fromPartials === null) this.bySegment.set(key, own ?? EMPTY);
      else this.bySegment.set(key, own ? [...own, ...fromPartials].sort(byOrder) : fromPartials);
    }
  }

  /** Partial routes whose text is a prefix of `seg`, in route order, or null when none. */
  private partialsFor(seg: string): CompiledRoute[] | null {
    if (this.partials.size === 0) return null;
    let out: CompiledRoute[] | null = null;
    const max = Math.min(seg.length, this.maxPartial);
    for (let n = 1; n <= max; n++) {
      const hit = this.partials.get(seg.slice(0, n));
      if (hit) out = out === null ? [...hit] : out.concat(hit);
    }
    return out === null ? null : out.sort(byOrder);
  }

  match(r: RouteRequest): CompiledRoute | null {
    if (this.linear) {
      const routes = this.routes;
      for (let i = 0; i < routes.length; i++) if (routes[i].matches(r)) return routes[i];
      return null;
    }
    const seg = firstSegment(r.path);
    const a = this.bySegment.get(seg) ?? this.partialsFor(seg) ?? EMPTY;
    const b = this.wildcards;
    // Walk both ordered lists together: the lower route order is tried first.
    let i = 0;
    let j = 0;
    while (i < a.length || j < b.length) {
      const next = j >= b.length || (i < a.length && a[i].order < b[j].order) ? a[i++] : b[j++];
      if (next.matches(r)) return next;
    }
    return null;
  }
}
