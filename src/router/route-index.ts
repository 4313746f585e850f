import type { RouteMatchConfig } from '../config/schema.ts';
import type { CompiledRoute, RouteRequest } from './types.ts';

// Route lookup inside one virtual host, indexed by path segment so a host with thousands of routes
// does not test them one by one — while keeping first-match-wins exactly.
//
// At each depth d (0 = first segment) a route falls in one class by its path match:
//  - keyed:    its segment d is fully known (`path: /a/b`, `prefix: /a/`, `prefix: /a/b/` for d ≤ 1) → that segment
//  - partial:  (d = 0 only) `prefix: /ab` matches any first segment that starts with "ab" ("/ab", "/ab/x", "/abc")
//  - keyed too: (d = 0 only) a regex that starts with a literal first segment (`/api/v[0-9]+/.*` → "api")
//  - wildcard: everything else at that depth (`prefix: /`, other regexes, a prefix ending mid-segment
//              below the first, a `path` shorter than d): it may match any segment d
// Keyed (and, at depth 0, partial) routes of one segment form a child index for depth d + 1 once
// there are more than a handful of them, so `/api/v1/...`, `/api/v2/...` thousands deep stay cheap.
// A request takes the first matching wildcard of a node (in route order) as an upper bound and asks
// the child only for an earlier match: the overall first match, and only candidates are tested.

const LINEAR_MAX = 8; // below this, a plain scan is as fast as the index
const MAX_DEPTH = 16; // bounds the recursion on pathological configs
const REGEX_LITERAL_SEGMENT = /^\/([A-Za-z0-9_~-]*)\//;

/** The segments of a path or prefix that are complete (known whole), in order. */
function completeSegments(m: RouteMatchConfig): readonly string[] {
  if (m.path !== undefined) return m.path.slice(1).split('/');
  if (m.prefix !== undefined && m.prefix !== '/') {
    const parts = m.prefix.slice(1).split('/');
    parts.pop(); // the last part is partial ("/a/b" → "b…"), or empty after a trailing slash
    return parts;
  }
  return NO_SEGMENTS;
}

/**
 * Depth 0 only: the first segment a regex can only match — a literal first segment closed by a '/'
 * that no quantifier touches, and no alternation anywhere that could open another branch
 * (`/api/v[0-9]+` → "api") — or null.
 */
function regexFirstSegment(regex: string): string | null {
  const lit = REGEX_LITERAL_SEGMENT.exec(regex);
  if (lit && !regex.includes('|') && !'*+?{'.includes(regex.charAt(lit[0].length))) return lit[1]!;
  return null;
}

function byOrder(a: Entry, b: Entry): number {
  return a.route.order - b.route.order;
}

/** Segment `depth` of a normalised path ("/a/b/" has "a", "b", ""), or null past its end. */
export function segmentAt(path: string, depth: number): string | null {
  let start = 1;
  for (let k = 0; k < depth; k++) {
    const slash = path.indexOf('/', start);
    if (slash === -1) return null;
    start = slash + 1;
  }
  const end = path.indexOf('/', start);
  return end === -1 ? path.slice(start) : path.slice(start, end);
}

/** A route with what the index needs of its match, worked out once for every depth. */
interface Entry {
  readonly route: CompiledRoute;
  /** Complete segments of its path or prefix (completeSegments). */
  readonly segments: readonly string[];
  /** At depth 0: the text of a prefix that ends inside the first segment ("/ab" → "ab"), else null. */
  readonly partial: string | null;
  /** At depth 0: the literal first segment of its regex, else null. */
  readonly regexSegment: string | null;
}

// A linear node (most of them: a host's handful of routes, the leaves of a large one) shares these
// instead of allocating its own (a 10,000-route table has thousands of nodes).
const NO_SEGMENTS: readonly string[] = Object.freeze([]);
const NO_CHILDREN: ReadonlyMap<string, RouteIndex> = new Map();
const NO_PARTIALS: ReadonlyMap<string, readonly Entry[]> = new Map();
const NO_ROUTES: readonly CompiledRoute[] = Object.freeze([]);

export class RouteIndex {
  /** A linear node's routes, in order. */
  private readonly routes: readonly CompiledRoute[] = NO_ROUTES;
  private readonly linear: boolean;
  private readonly depth: number;
  private readonly bySegment: ReadonlyMap<string, RouteIndex> = NO_CHILDREN;
  private readonly wildcards: readonly CompiledRoute[] = NO_ROUTES;
  /** Depth 0 only: routes whose prefix ends inside the first segment, by that text. */
  private readonly partials: ReadonlyMap<string, readonly Entry[]> = NO_PARTIALS;
  private maxPartial = 0;

  /** `routes` in config order with `order` = their position; `matches[i]` is route i's match config. */
  static build(routes: readonly CompiledRoute[], matches: readonly RouteMatchConfig[]): RouteIndex {
    const entries: Entry[] = new Array(routes.length);
    for (let i = 0; i < routes.length; i++) {
      const m = matches[i]!;
      const segments = completeSegments(m);
      const partial = segments.length === 0 && m.prefix !== undefined && m.prefix !== '/' ? m.prefix.slice(1) : null;
      const regexSegment = m.regex !== undefined ? regexFirstSegment(m.regex) : null;
      entries[i] = { route: routes[i]!, segments, partial, regexSegment };
    }
    return new RouteIndex(entries, 0);
  }

  private constructor(entries: readonly Entry[], depth: number) {
    this.depth = depth;
    this.linear = entries.length <= LINEAR_MAX || depth >= MAX_DEPTH;
    if (this.linear) {
      const routes: CompiledRoute[] = new Array(entries.length);
      for (let i = 0; i < entries.length; i++) routes[i] = entries[i]!.route;
      this.routes = routes;
      return;
    }
    // Each route falls in one class at this depth (see the top of the file).
    const keyed = new Map<string, Entry[]>();
    const partials = new Map<string, Entry[]>();
    const wildcards: CompiledRoute[] = [];
    for (let i = 0; i < entries.length; i++) {
      const e = entries[i]!;
      let key: string | null = null;
      let map = keyed;
      if (depth < e.segments.length) key = e.segments[depth]!;
      else if (depth === 0 && e.partial !== null) {
        key = e.partial;
        map = partials;
        this.maxPartial = Math.max(this.maxPartial, key.length);
      } else if (depth === 0) key = e.regexSegment;
      if (key === null) {
        wildcards.push(e.route);
        continue;
      }
      const list = map.get(key);
      if (list === undefined) map.set(key, [e]);
      else list.push(e);
    }
    if (wildcards.length > 0) this.wildcards = wildcards;
    if (partials.size > 0) this.partials = partials;
    const bySegment = new Map<string, RouteIndex>();
    for (const [key, list] of keyed) {
      const withPartials = this.partialsFor(key);
      bySegment.set(key, this.child(withPartials === null ? list : list.concat(withPartials)));
    }
    for (const key of partials.keys()) if (!bySegment.has(key)) bySegment.set(key, this.child(this.partialsFor(key)!));
    this.bySegment = bySegment;
  }

  private child(entries: Entry[]): RouteIndex {
    return new RouteIndex(entries.sort(byOrder), this.depth + 1);
  }

  /** Partial routes whose text is a prefix of `seg`, or null when none. */
  private partialsFor(seg: string): Entry[] | null {
    if (this.partials.size === 0) return null;
    let out: Entry[] | null = null;
    const max = Math.min(seg.length, this.maxPartial);
    for (let n = 1; n <= max; n++) {
      const hit = this.partials.get(seg.slice(0, n));
      if (hit) out = out === null ? hit.slice() : out.concat(hit);
    }
    return out;
  }

  /** The first route (in config order) that matches `r`, among those ordered before `bound`. */
  match(r: RouteRequest, bound = Number.POSITIVE_INFINITY): CompiledRoute | null {
    if (this.linear) {
      const routes = this.routes;
      for (let i = 0; i < routes.length && routes[i].order < bound; i++) if (routes[i].matches(r)) return routes[i];
      return null;
    }
    // The first matching wildcard bounds what the segment's routes may still win with.
    let wildcard: CompiledRoute | null = null;
    const w = this.wildcards;
    for (let i = 0; i < w.length && w[i].order < bound; i++) {
      if (w[i].matches(r)) {
        wildcard = w[i];
        break;
      }
    }
    const limit = wildcard === null ? bound : wildcard.order;
    const seg = segmentAt(r.path, this.depth);
    if (seg !== null) {
      let child = this.bySegment.get(seg);
      if (child === undefined && this.partials.size > 0) {
        // a first segment nobody named (mostly 404 traffic): only partial prefixes can match it
        const entries = this.partialsFor(seg);
        if (entries !== null) child = this.child(entries);
      }
      const hit = child?.match(r, limit) ?? null;
      if (hit !== null) return hit;
    }
    return wildcard;
  }
}
