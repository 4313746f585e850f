// GET /stats under --workers: every worker answers with its own /stats (stats.ts) and the primary
// merges them into the group's, so the dashboard draws the whole group's traffic rather than one
// worker's share. Every worker compiles the same config, so the first answer gives the shape (routes,
// clusters, listeners, their config values) and the others add their counters to it, matched by name.
// Per-process state is merged the way an operator reads it: an endpoint is healthy and serving only if
// every worker finds it so, and ejected if any worker ejected it (outlier detection runs per worker).

type Json = Record<string, unknown>;
type Counted = Record<string, number>;

function num(v: unknown): number {
  return typeof v === 'number' && Number.isFinite(v) ? v : 0;
}

function list(v: unknown): Json[] {
  return Array.isArray(v) ? (v as Json[]) : [];
}

/** Every number of a flat record (per protocol, per status class) summed over `records`. */
function sumRecords(records: unknown[]): Counted {
  const out: Counted = {};
  for (const r of records) for (const [k, v] of Object.entries((r ?? {}) as Counted)) out[k] = num(out[k]) + num(v);
  return out;
}

/** A copy of `base` with the numbers at `keys` summed over base and `others`, and `byClass` when it has one. */
function sumCounts(base: Json, others: Json[], keys: readonly string[]): Json {
  const out: Json = { ...base };
  for (const k of keys) out[k] = others.reduce((n, o) => n + num(o[k]), num(base[k]));
  if (base.byClass !== undefined) out.byClass = sumRecords([base.byClass, ...others.map((o) => o.byClass)]);
  return out;
}

/** Each item of `items` merged with the items of the same key in `otherLists`. */
function mergeItems(items: Json[], otherLists: Json[][], key: (j: Json) => string, merge: (mine: Json, theirs: Json[]) => Json): Json[] {
  const indexed = otherLists.map((l) => new Map(l.map((j) => [key(j), j])));
  return items.map((item) => {
    const k = key(item);
    return merge(
      item,
      indexed.map((m) => m.get(k)).filter((j): j is Json => j !== undefined),
    );
  });
}

/** The same list field of every part, merged item by item into the first part's. */
function mergeField(parts: Json[], field: string, key: (j: Json) => string, merge: (mine: Json, theirs: Json[]) => Json): Json[] {
  return mergeItems(list(parts[0][field]), parts.slice(1).map((p) => list(p[field])), key, merge);
}

const NAME = (j: Json) => String(j.name);

function mergeRoute(mine: Json, theirs: Json[]): Json {
  const out = sumCounts(mine, theirs, ['requests', 'errors']);
  out.byCluster = mergeItems(list(mine.byCluster), theirs.map((t) => list(t.byCluster)), (c) => String(c.cluster), (c, ts) => sumCounts(c, ts, ['requests', 'errors']));
  return out;
}

function mergeEndpoint(mine: Json, theirs: Json[]): Json {
  const out = sumCounts(mine, theirs, ['active', 'timesEjected']);
  const all = [mine, ...theirs];
  out.healthy = all.every((e) => e.healthy === true);
  out.serving = all.every((e) => e.serving === true);
  out.ejected = all.some((e) => e.ejected === true);
  return out;
}

function mergeCluster(mine: Json, theirs: Json[]): Json {
  const out = sumCounts(mine, theirs, ['requests', 'errors', 'inflight', 'pending']);
  out.panic = [mine, ...theirs].some((c) => c.panic === true);
  out.endpoints = mergeItems(list(mine.endpoints), theirs.map((t) => list(t.endpoints)), (e) => String(e.address), mergeEndpoint);
  return out;
}

function mergeListener(mine: Json, theirs: Json[]): Json {
  const all = [mine, ...theirs];
  return {
    ...sumCounts(mine, theirs, ['requests']),
    connections: sumRecords(all.map((l) => l.connections)),
    activeRequests: sumRecords(all.map((l) => l.activeRequests)),
  };
}

/** The group's /stats from its workers' (in slot order); `workers` says how many answered. */
export function mergeStats(parts: Json[]): Json {
  if (parts.length === 0) throw new Error('no worker answered');
  const first = parts[0];
  const rest = parts.slice(1);
  return {
    ...first,
    time: Math.max(...parts.map((p) => num(p.time))),
    ready: parts.every((p) => p.ready === true),
    draining: parts.some((p) => p.draining === true),
    inflight: parts.reduce((n, p) => n + num(p.inflight), 0),
    lastReloadError: parts.find((p) => p.lastReloadError !== null && p.lastReloadError !== undefined)?.lastReloadError ?? null,
    listeners: mergeField(parts, 'listeners', NAME, mergeListener),
    routes: mergeField(parts, 'routes', (r) => `${String(r.virtualHost)}\u0000${String(r.name)}`, mergeRoute),
    unrouted: sumCounts((first.unrouted ?? {}) as Json, rest.map((p) => (p.unrouted ?? {}) as Json), ['requests', 'errors']),
    clusters: mergeField(parts, 'clusters', NAME, mergeCluster),
    rateLimits: mergeField(parts, 'rateLimits', (r) => String(r.policy), (mine, theirs) => sumCounts(mine, theirs, ['allowed', 'limited'])),
    workers: parts.length,
  };
}
