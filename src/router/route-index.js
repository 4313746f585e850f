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
function completeSegments(m) {
    if (m.path !== undefined)
        return m.path.slice(1).split('/');
    if (m.prefix !== undefined && m.prefix !== '/') {
        const parts = m.prefix.slice(1).split('/');
        parts.pop(); // the last part is partial ("/a/b" → "b…"), or empty after a trailing slash
        return parts;
    }
    return [];
}
function classify(m, depth) {
    const known = completeSegments(m);
    if (depth < known.length)
        return { kind: 'keyed', key: known[depth] };
    if (depth > 0)
        return { kind: 'wildcard' };
    if (m.prefix !== undefined && m.prefix !== '/')
        return { kind: 'partial', key: m.prefix.slice(1) };
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
function byOrder(a, b) {
    return a.order - b.order;
}
/** Segment `depth` of a normalised path ("/a/b/" has "a", "b", ""), or null past its end. */
export function segmentAt(path, depth) {
    let start = 1;
    for (let k = 0; k < depth; k++) {
        const slash = path.indexOf('/', start);
        if (slash === -1)
            return null;
        start = slash + 1;
    }
    const end = path.indexOf('/', start);
    return end === -1 ? path.slice(start) : path.slice(start, end);
}
export class RouteIndex {
    routes;
    linear;
    depth;
    bySegment = new Map();
    wildcards = [];
    /** Depth 0 only: routes whose prefix ends inside the first segment, by that text. */
    partials = new Map();
    maxPartial = 0;
    /** `routes` in config order with `order` = their position; `matches[i]` is route i's match config. */
    constructor(routes, matches, depth = 0) {
        this.routes = routes;
        this.depth = depth;
        this.linear = routes.length <= LINEAR_MAX || depth >= MAX_DEPTH;
        if (this.linear)
            return;
        const keyed = new Map();
        routes.forEach((route, i) => {
            const match = matches[i];
            const k = classify(match, depth);
            if (k.kind === 'wildcard')
                this.wildcards.push(route);
            else {
                const map = k.kind === 'keyed' ? keyed : this.partials;
                let list = map.get(k.key);
                if (!list)
                    map.set(k.key, (list = []));
                list.push({ route, match });
                if (k.kind === 'partial')
                    this.maxPartial = Math.max(this.maxPartial, k.key.length);
            }
        });
        for (const key of new Set([...keyed.keys(), ...this.partials.keys()])) {
            const entries = [...(keyed.get(key) ?? []), ...(this.partialsFor(key) ?? [])];
            this.bySegment.set(key, this.child(entries));
        }
    }
    child(entries) {
        entries.sort((a, b) => byOrder(a.route, b.route));
        return new RouteIndex(entries.map((e) => e.route), entries.map((e) => e.match), this.depth + 1);
    }
    /** Partial routes whose text is a prefix of `seg`, or null when none. */
    partialsFor(seg) {
        if (this.partials.size === 0)
            return null;
        let out = null;
        const max = Math.min(seg.length, this.maxPartial);
        for (let n = 1; n <= max; n++) {
            const hit = this.partials.get(seg.slice(0, n));
            if (hit)
                out = out === null ? [...hit] : out.concat(hit);
        }
        return out;
    }
    /** The first route (in config order) that matches `r`, among those ordered before `bound`. */
    match(r, bound = Number.POSITIVE_INFINITY) {
        if (this.linear) {
            const routes = this.routes;
            for (let i = 0; i < routes.length && routes[i].order < bound; i++)
                if (routes[i].matches(r))
                    return routes[i];
            return null;
        }
        // The first matching wildcard bounds what the segment's routes may still win with.
        let wildcard = null;
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
                if (entries !== null)
                    child = this.child(entries);
            }
            const hit = child?.match(r, limit) ?? null;
            if (hit !== null)
                return hit;
        }
        return wildcard;
    }
}
