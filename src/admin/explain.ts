import type { IncomingHttpHeaders } from 'node:http';
import type { CompiledListener, Generation } from '../runtime/generation.ts';
import type { CompiledRoute, RouteAction } from '../router/types.ts';
import { explainRouting } from '../router/explain.ts';
import { Errors } from '../errors.ts';
import { isValidAuthority } from '../listener/request-target.ts';

// `gatehouse explain` and admin GET /explain: where a request would go and why. The listener (by
// port), the virtual host (exact / suffix / wildcard domain), each route tried in order with the
// first condition that failed, the route taken, its filters, its action (split weights, timeout,
// retries, rewrites), and each destination cluster's endpoints with their health. Built on the
// generation's own compiled objects (router/explain.ts), the answer is a plain JSON object; the CLI
// prints it as text (formatExplanation) or as JSON.

export interface ExplainInput {
  readonly method: string;
  readonly url: string;
  /** `name: value` pairs as given (-H / header=), in order. */
  readonly headers: ReadonlyArray<readonly [string, string]>;
}

export interface EndpointView {
  address: string;
  weight: number;
  healthy: boolean;
  ejected: boolean;
  serving: boolean;
}

export interface ClusterView {
  name: string;
  /** Share of the route's traffic, in percent (100 for a single cluster). */
  percent: number;
  weight: number;
  policy: string;
  discovery: string;
  panic: boolean;
  endpoints: EndpointView[];
}

export interface Explanation {
  request: { method: string; url: string; authority: string; path: string | null };
  listener: { name: string; address: string; tls: boolean; note?: string } | null;
  virtualHost: { name: string; matchedBy: 'exact' | 'suffix' | 'wildcard'; domain: string; domains: string[] } | null;
  routes: Array<{ name: string; origin: string; matched: boolean; failed?: string; observed?: string }>;
  route: { name: string; origin: string; conditions: string[]; filters: Array<{ name: string; detail?: string }> } | null;
  action: Record<string, unknown> | null;
  clusters: ClusterView[];
  /** What the client would get, in one line: `forward to …`, `404 route_not_found`, `308 to https://…`. */
  answer: string;
  matched: boolean;
}

export class ExplainInputError extends Error {}

function headerObject(pairs: ExplainInput['headers']): IncomingHttpHeaders {
  const out: Record<string, string> = {};
  for (const [rawName, value] of pairs) {
    const name = rawName.trim().toLowerCase();
    if (name === '') continue;
    const prev = out[name];
    out[name] = prev === undefined ? value : `${prev}${name === 'cookie' ? '; ' : ', '}${value}`;
  }
  return out;
}

/** `-H 'name: value'` → [name, value]. */
export function parseHeaderArg(s: string): [string, string] {
  const colon = s.indexOf(':');
  if (colon <= 0) throw new ExplainInputError(`header "${s}": expected "name: value"`);
  return [s.slice(0, colon).trim(), s.slice(colon + 1).trim()];
}

function splitUrl(url: string): { scheme: 'http' | 'https'; authority: string; port: number; target: string } {
  const m = /^(https?):\/\/([^/?#]+)([^#]*)/i.exec(url);
  if (!m) throw new ExplainInputError(`url "${url}": expected http(s)://host[:port]/path`);
  const scheme = m[1].toLowerCase() as 'http' | 'https';
  const authority = m[2];
  const portMatch = /:(\d+)$/.exec(authority);
  const port = portMatch && !authority.endsWith(']') ? Number(portMatch[1]) : scheme === 'https' ? 443 : 80;
  return { scheme, authority, port, target: m[3] === '' ? '/' : m[3] };
}

function pickListener(gen: Generation, scheme: 'http' | 'https', port: number): { l: CompiledListener; note?: string } | null {
  const all = [...gen.listeners.values()];
  const tls = scheme === 'https';
  const exact = all.find((l) => l.port === port && (l.sni !== null) === tls);
  if (exact) return { l: exact };
  const first = all.find((l) => (l.sni !== null) === tls);
  return first ? { l: first, note: `no ${scheme} listener on port ${port}; shown as served by "${first.name}" (every TLS listener serves the same virtual hosts)` } : null;
}

function describeAction(a: RouteAction, path: string, query: string, authority: string): Record<string, unknown> {
  if (a.kind === 'direct') return { kind: 'direct', status: a.status, bodyBytes: a.body.length };
  if (a.kind === 'redirect') {
    return { kind: 'redirect', status: a.status, location: a.absolute ? a.to : `https://${authority}${a.to}${query}` };
  }
  const total = a.split.weights.reduce((s, w) => s + w, 0);
  const r = a.retry;
  return {
    kind: 'forward',
    split: a.split.clusters.map((c, i) => ({ cluster: c.name, weight: a.split.weights[i], percent: total > 0 ? round((a.split.weights[i] * 100) / total) : 0 })),
    ...(a.split.sticky !== null ? { stickyOn: a.split.sticky } : {}),
    upstreamPath: (a.rewritePath === null ? path : a.rewritePath(path)) + query,
    ...(a.hostRewrite !== null ? { hostRewrite: a.hostRewrite } : {}),
    timeoutMs: a.timeoutMs,
    ...(r !== null
      ? { retries: { attempts: r.attempts, perTryTimeoutMs: r.perTryTimeoutMs, statuses: [...r.statuses], failures: [...r.failures], any5xx: r.any5xx } }
      : {}),
    ...(a.mirror !== null ? { mirror: { cluster: a.mirror.cluster.name, percent: a.mirror.percent } } : {}),
    websocket: a.websocket,
  };
}

function round(n: number): number {
  return Math.round(n * 100) / 100;
}

function clusterViews(a: RouteAction): ClusterView[] {
  if (a.kind !== 'forward') return [];
  const total = a.split.weights.reduce((s, w) => s + w, 0);
  return a.split.clusters.map((c, i) => {
    const s = c.summary();
    return {
      name: c.name,
      weight: a.split.weights[i],
      percent: total > 0 ? round((a.split.weights[i] * 100) / total) : 0,
      policy: s.policy,
      discovery: s.discovery,
      panic: s.panic,
      endpoints: s.endpoints.map((e) => ({ address: e.address, weight: e.weight, healthy: e.healthy, ejected: e.ejected, serving: e.serving })),
    };
  });
}

function routeView(r: CompiledRoute): NonNullable<Explanation['route']> {
  return {
    name: r.name,
    origin: r.origin,
    conditions: r.conditions.map((c) => c.describe),
    filters: (r.filters ?? []).map((f) => {
      const detail = f.describe?.();
      return detail ? { name: f.name, detail } : { name: f.name };
    }),
  };
}

/** What the listeners answer to a Host that is not `host[:port]` (listener/request-target.ts). */
function refuseAuthority(out: Explanation, authority: string): Explanation {
  out.answer = `${Errors.badRequest.status} ${Errors.badRequest.code} (the authority "${authority}" is not host[:port])`;
  return out;
}

export function explainRequest(gen: Generation, input: ExplainInput): Explanation {
  const method = input.method.toUpperCase();
  const url = splitUrl(input.url);
  const headers = headerObject(input.headers);
  const authority = typeof headers.host === 'string' ? headers.host : url.authority;
  const out: Explanation = {
    request: { method, url: input.url, authority, path: null },
    listener: null,
    virtualHost: null,
    routes: [],
    route: null,
    action: null,
    clusters: [],
    answer: '',
    matched: false,
  };
  const picked = pickListener(gen, url.scheme, url.port);
  if (picked !== null) {
    const l = picked.l;
    out.listener = { name: l.name, address: `${l.host}:${l.port}`, tls: l.sni !== null, ...(picked.note ? { note: picked.note } : {}) };
    if (l.sni === null) {
      if (!isValidAuthority(authority)) return refuseAuthority(out, authority);
      const port = l.httpsPort === 443 ? '' : `:${l.httpsPort}`;
      out.answer = `308 to https://${authority.replace(/:\d+$/, '')}${port}${url.target} (a plain listener only redirects)`;
      return out;
    }
  } else if (url.scheme === 'http') {
    out.answer = 'no plain listener: connection refused';
    return out;
  }
  if (!isValidAuthority(authority)) return refuseAuthority(out, authority);
  const routing = explainRouting(gen.hosts, authority, url.target, method, headers);
  out.request.path = routing.path;
  if (routing.path === null) {
    out.answer = `${Errors.badRequest.status} ${Errors.badRequest.code} (the target cannot be normalised)`;
    return out;
  }
  if (routing.virtualHost === null) {
    out.answer = `${Errors.noVirtualHost.status} ${Errors.noVirtualHost.code} (no virtual host for "${authority}")`;
    return out;
  }
  const vh = routing.virtualHost;
  out.virtualHost = { name: vh.vhost.name, matchedBy: vh.how, domain: vh.domain, domains: [...vh.vhost.domains] };
  out.routes = routing.tried.map((t) => ({
    name: t.route.name,
    origin: t.route.origin,
    matched: t.failed === null,
    ...(t.failed !== null ? { failed: t.failed.condition, observed: t.failed.observed } : {}),
  }));
  const route = routing.route;
  if (route === null) {
    out.answer = `${Errors.noRoute.status} ${Errors.noRoute.code} (no route of "${vh.vhost.name}" matches)`;
    return out;
  }
  out.matched = true;
  out.route = routeView(route);
  out.action = describeAction(route.action, routing.path, routing.query, authority);
  out.clusters = clusterViews(route.action);
  const a = route.action;
  out.answer =
    a.kind === 'direct' ? `${a.status} direct response`
    : a.kind === 'redirect' ? `${a.status} to ${String(out.action.location)}`
    : `forward to ${out.clusters.map((c) => (out.clusters.length > 1 ? `${c.name} (${c.percent}%)` : c.name)).join(' or ')}`;
  return out;
}

function duration(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000}s` : `${ms}ms`;
}

/** The explanation as text, for a terminal. */
export function formatExplanation(e: Explanation): string {
  const lines: string[] = [`${e.request.method} ${e.request.url}`];
  const row = (k: string, v: string) => lines.push(`${k.padEnd(13)} ${v}`);
  if (e.listener) row('listener', `${e.listener.name} (${e.listener.address}${e.listener.tls ? ', TLS' : ', plain'})${e.listener.note ? ` — ${e.listener.note}` : ''}`);
  if (e.request.path !== null) row('path', e.request.path);
  if (e.virtualHost) {
    const why = e.virtualHost.matchedBy === 'exact' ? `exact domain "${e.virtualHost.domain}"` : e.virtualHost.matchedBy === 'suffix' ? `suffix "${e.virtualHost.domain}"` : 'wildcard "*"';
    row('virtual host', `${e.virtualHost.name} — ${why}`);
  }
  if (e.routes.length > 0) {
    lines.push('routes tried');
    const width = Math.max(...e.routes.map((r) => r.name.length));
    for (const r of e.routes) {
      const origin = r.origin === 'yaml' ? '' : ` [${r.origin}]`;
      lines.push(r.matched ? `  MATCH ${r.name}${origin}` : `  no    ${r.name.padEnd(width)}${origin}  ${r.failed}: got ${r.observed}`);
    }
  }
  if (e.route) {
    row('conditions', e.route.conditions.join(', '));
    row('filters', e.route.filters.length === 0 ? '(none)' : e.route.filters.map((f) => (f.detail ? `${f.name} (${f.detail})` : f.name)).join(' → '));
  }
  const a = e.action;
  if (a && a.kind === 'forward') {
    const retries = a.retries as { attempts: number; perTryTimeoutMs: number } | undefined;
    row('upstream path', String(a.upstreamPath) + (a.hostRewrite ? `  (host ${a.hostRewrite})` : ''));
    row('timeout', `${a.timeoutMs === 0 ? 'none' : duration(a.timeoutMs as number)}${retries ? `, retries ${retries.attempts}${retries.perTryTimeoutMs ? ` (per try ${duration(retries.perTryTimeoutMs)})` : ''}` : ''}`);
    if (e.clusters.length > 1) row('split', e.clusters.map((c) => `${c.name} ${c.percent}% (weight ${c.weight})`).join(' · ') + (a.stickyOn ? `, sticky on ${a.stickyOn}` : ''));
    const mirror = a.mirror as { cluster: string; percent: number } | undefined;
    if (mirror) row('mirror', `${mirror.percent}% copied to ${mirror.cluster}`);
    for (const c of e.clusters) {
      lines.push(`cluster ${c.name} (${c.policy}, ${c.discovery}${c.panic ? ', PANIC: serving ejected endpoints' : ''})`);
      if (c.endpoints.length === 0) lines.push('  (no endpoints)');
      for (const ep of c.endpoints) {
        const state = !ep.healthy ? 'unhealthy' : ep.ejected ? 'ejected' : 'healthy';
        lines.push(`  ${ep.address.padEnd(24)} weight ${ep.weight}  ${state}${ep.serving ? '' : ' (not serving)'}`);
      }
    }
  }
  row('answer', e.answer);
  return `${lines.join('\n')}\n`;
}
