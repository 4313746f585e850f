// GET /stats under --workers: every worker answers with its own /stats (stats.ts) and the primary
// merges them into the group's, so the dashboard draws the whole group's traffic rather than one
// worker's share. Every worker compiles the same config, so the first answer gives the shape (routes,
// clusters, listeners, their config values) and the others add their counters to it, matched by name.
// Per-process state is merged the way an operator reads it: an endpoint is healthy and serving only if
// every worker finds it so, and ejected if any worker ejected it (outlier detection runs per worker).

type Json = Record<string, unknown>;
type Counted = Record<string, number>;

/** Adds src's numbers at `keys` into target's (a missing number counts as 0). */
function addNumbers(target: Json, src: Json | undefined, keys: readonly string[]): void {
  if (src === undefined) return;
  for (const k of keys) target[k] = num(target[k]) + num(src[k]);
}

/** Adds every number of a flat record (per protocol, per status class) into target's. */
function addRecord(target: unknown, src: unknown): Counted {
  const out: Counted = { ...(target as Counted) };
  for (const [k, v] of Object.entries((src ?? {}) as Counted)) out[k] = num(out[k]) + num(v);
  return out;
}

function num(v: unknown): number {
  return typeof v === 'number' && Number.isFinite(v) ? v : 0;
}

function list(v: unknown): Json[] {
  return Array.isArray(v) ? (v as Json[]) : [];
}

function index(items: Json[], key: (j: Json) => string): Map<string, Json> {
  return new Map(items.map((j) => [key(j), j]));
}

const ROUTE_KEY = (r: Json) => `${String(r.virtualHost)}\u0000${String(r.name)}`;
const NAME_KEY = (j: Json) => String(j.name);

function mergeRoute(base: Json, others: Json[]): Json {
  const out: Json = { ...base, byClass: { ...(base.byClass as Counted) } };
  let byCluster = list(base.byCluster).map((c) => ({ ...c }));
  for (const o of others) {
    addNumbers(out, o, ['requests', 'errors']);
    out.byClass = addRecord(out.byClass, o.byClass);
    const theirs = index(list(o.byCluster), (c) => String(c.cluster));
    byCluster = byCluster.map((c) => {
      const t = theirs.get(String(c.cluster));
      if (t) addNumbers(c, t, ['requests', 'errors']);
      return c;
    });
  }
  out.byCluster = byCluster;
  return out;
}

function mergeCluster(base: Json, others: Json[]): Json {
  const out: Json = { ...base, byClass: { ...(base.byClass as Counted) } };
  let endpoints = list(base.endpoints).map((e) => ({ ...e }));
  for (const o of others) {
    addNumbers(out, o, ['requests', 'errors', 'inflight', 'pending']);
    out.byClass = addRecord(out.byClass, o.byClass);
    out.panic = out.panic === true || o.panic === true;
    const theirs = index(list(o.endpoints), (e) => String(e.address));
    endpoints = endpoints.map((e) => {
      const t = theirs.get(String(e.address));
      if (!t) return e;
      addNumbers(e, t, ['active', 'timesEjected']);
      e.healthy = e.healthy === true && t.healthy === true;
      e.serving = e.serving === true && t.serving === true;
      e.ejected = e.ejected === true || t.ejected === true;
      return e;
    });
  }
  out.endpoints = endpoints;
  return out;
}

function mergeListener(base: Json, others: Json[]): Json {
  const out: Json = { ...base };
  for (const o of others) {
    out.connections = addRecord(out.connections, o.connections);
    out.activeRequests = addRecord(out.activeRequests, o.activeRequests);
    addNumbers(out, o, ['requests']);
  }
  return out;
}

/** Merges each item of the first answer's list with the items of the same key in the others. */
function mergeList(parts: Json[], field: string, key: (j: Json) => string, merge: (base: Json, others: Json[]) => Json): Json[] {
  const rest = parts.slice(1).map((p) => index(list(p[field]), key));
  return list(parts[0][field]).map((item) => {
    const k = key(item);
    return merge(
      item,
      rest.map((m) => m.get(k)).filter((j): j is Json => j !== undefined),
    );
  });
}

/** The group's /stats from its workers' (in slot order); `workers` says how many answered. */
export function mergeStats(parts: Json[]): Json {
  if (parts.length === 0) throw new Error('no worker answered');
  const first = parts[0];
  const unrouted: Json = { ...(first.unrouted as Json), byClass: { ...((first.unrouted as Json | undefined)?.byClass as Counted) } };
  for (const p of parts.slice(1)) {
    addNumbers(unrouted, p.unrouted as Json | undefined, ['requests', 'errors']);
    unrouted.byClass = addRecord(unrouted.byClass, (p.unrouted as Json | undefined)?.byClass);
  }
  return {
    ...first,
    time: Math.max(...parts.map((p) => num(p.time))),
    ready: parts.every((p) => p.ready === true),
    draining: parts.some((p) => p.draining === true),
    inflight: parts.reduce((n, p) => n + num(p.inflight), 0),
    lastReloadError: parts.find((p) => p.lastReloadError !== null && p.lastReloadError !== undefined)?.lastReloadError ?? null,
    listeners: mergeList(parts, 'listeners', NAME_KEY, mergeListener),
    routes: mergeList(parts, 'routes', ROUTE_KEY, mergeRoute),
    unrouted,
    clusters: mergeList(parts, 'clusters', NAME_KEY, mergeCluster),
    rateLimits: mergeList(parts, 'rateLimits', (r) => String(r.policy), (base, others) => {
      const out: Json = { ...base };
      for (const o of others) addNumbers(out, o, ['allowed', 'limited']);
      return out;
    }),
    workers: parts.length,
  };
}
