import { domainError } from '../../config/checks.ts';
import { virtualHostSchema, type VirtualHostConfig } from '../../config/schema.ts';
import { issuesToErrors } from '../../config/zod-errors.ts';
import { durationMs, durationText, fail, isObj, join, NOT_SUPPORTED, refuseOthers, wrapped, type Errors, type FieldError, type Obj } from './fields.ts';
import { addEdits, emptyEdits, finishEdits, type HeaderEditsInput } from './headers.ts';
import { headerMatcher, queryMatcher, regexMatcher } from './matchers.ts';

// RouteConfiguration (RDS) → virtual hosts in the config's shape. Pure: no I/O, no clock; the result
// is validated by the same zod schema as YAML, so the snapshot it joins is as good as a loaded file.
// What Envoy would do differently from what we can express is refused by name (docs/xds.md lists it).

export interface RouteConfigFragment {
  readonly name: string;
  readonly virtualHosts: readonly VirtualHostConfig[];
  /** Every cluster a route names (route, weighted split, mirror): CDS subscribes to these. */
  readonly clusters: readonly string[];
}

export type Translation<T> = { ok: true; value: T } | { ok: false; errors: FieldError[] };

const T = {
  rc: 'envoy.config.route.v3.RouteConfiguration',
  vh: 'envoy.config.route.v3.VirtualHost',
  route: 'envoy.config.route.v3.Route',
  match: 'envoy.config.route.v3.RouteMatch',
  action: 'envoy.config.route.v3.RouteAction',
  weighted: 'envoy.config.route.v3.WeightedCluster',
  weightedEntry: 'envoy.config.route.v3.WeightedCluster.ClusterWeight',
  retry: 'envoy.config.route.v3.RetryPolicy',
  mirror: 'envoy.config.route.v3.RouteAction.RequestMirrorPolicy',
  upgrade: 'envoy.config.route.v3.RouteAction.UpgradeConfig',
  redirect: 'envoy.config.route.v3.RedirectAction',
  direct: 'envoy.config.route.v3.DirectResponseAction',
} as const;

/** Fields that do not change how a request is matched or forwarded. */
const IGNORED_ROUTE = ['metadata', 'decorator', 'tracing', 'stat_prefix', 'per_request_buffer_limit_bytes', 'request_body_buffer_limit'];
const IGNORED_VH = ['metadata', 'include_request_attempt_count', 'include_attempt_count_in_response', 'include_is_timeout_retry_header', 'per_request_buffer_limit_bytes', 'request_body_buffer_limit'];

export function translateRouteConfiguration(rc: Obj): Translation<RouteConfigFragment> {
  const errors: Errors = [];
  const name = String(rc.name ?? '');
  refuseOthers(
    rc,
    T.rc,
    ['name', 'virtual_hosts', 'request_headers_to_add', 'request_headers_to_remove', 'response_headers_to_add', 'response_headers_to_remove', 'most_specific_header_mutations_wins'],
    ['validate_clusters', 'max_direct_response_body_size_bytes', 'metadata', 'ignore_port_in_host_matching'],
    '',
    errors,
  );
  const clusters = new Set<string>();
  const virtualHosts: VirtualHostConfig[] = [];
  const domainOwner = new Map<string, number>();
  const vhNames = new Set<string>();
  const vhs = Array.isArray(rc.virtual_hosts) ? rc.virtual_hosts : [];
  for (const [i, vh] of vhs.entries()) {
    const path = join('virtual_hosts', i);
    if (!isObj(vh)) continue;
    const before = errors.length;
    const input = virtualHost(vh, rc, path, errors, clusters);
    if (input === null) continue;
    if (vhNames.has(input.name)) fail(errors, join(path, 'name'), `duplicate virtual host name "${input.name}"`);
    vhNames.add(input.name);
    for (const d of input.domains) {
      const prev = domainOwner.get(d);
      if (prev !== undefined && prev !== i) fail(errors, join(path, 'domains'), `domain "${d}" is also in virtual_hosts[${prev}]`);
      domainOwner.set(d, i);
    }
    // A virtual host with a bad route is not parsed: its errors say what is wrong, the schema would only add echoes.
    if (errors.length > before) continue;
    const parsed = virtualHostSchema.safeParse(input);
    if (!parsed.success) {
      for (const e of issuesToErrors(parsed.error.issues)) errors.push({ path, message: `${e.path}: ${e.message}` });
      continue;
    }
    virtualHosts.push(parsed.data);
  }
  if (errors.length > 0) return { ok: false, errors };
  return { ok: true, value: { name, virtualHosts, clusters: [...clusters] } };
}

interface VirtualHostInput {
  name: string;
  domains: string[];
  routes: Obj[];
}

function virtualHost(vh: Obj, rc: Obj, path: string, errors: Errors, clusters: Set<string>): VirtualHostInput | null {
  refuseOthers(
    vh,
    T.vh,
    ['name', 'domains', 'routes', 'request_headers_to_add', 'request_headers_to_remove', 'response_headers_to_add', 'response_headers_to_remove', 'retry_policy', 'request_mirror_policies'],
    IGNORED_VH,
    path,
    errors,
  );
  const name = String(vh.name ?? '');
  if (name === '') return fail(errors, join(path, 'name'), 'required');
  const domains: string[] = [];
  for (const [j, raw] of (Array.isArray(vh.domains) ? vh.domains : []).entries()) {
    const d = domain(String(raw), join(join(path, 'domains'), j), errors);
    if (d !== null && !domains.includes(d)) domains.push(d);
  }
  if (domains.length === 0) return fail(errors, join(path, 'domains'), 'at least one domain is required');
  const routes: Obj[] = [];
  const names = new Set<string>();
  const list = Array.isArray(vh.routes) ? vh.routes : [];
  if (list.length === 0) return fail(errors, join(path, 'routes'), 'at least one route is required');
  for (const [k, r] of list.entries()) {
    if (!isObj(r)) continue;
    const rp = join(join(path, 'routes'), k);
    const out = route(r, vh, rc, rp, errors, clusters);
    if (out === null) continue;
    // Route names are optional and need not be unique in Envoy; ours are both.
    let n = String(r.name ?? '') || `route-${k}`;
    if (names.has(n)) n = `${n}#${k}`;
    names.add(n);
    routes.push({ name: n, ...out });
  }
  return { name, domains, routes };
}

/** Envoy domain → ours: the port is dropped (we match the host without its port); prefix wildcards are refused. */
function domain(d: string, path: string, errors: Errors): string | null {
  let host = d.toLowerCase();
  const m = /^(.*?):(\d+|\*)$/.exec(host);
  if (m && !host.startsWith('[')) host = m[1]!;
  if (host !== '*' && host.includes('*') && !(host.startsWith('*.') && !host.slice(2).includes('*'))) {
    return fail(errors, path, `"${d}": only exact names, "*.suffix" and "*" are supported`);
  }
  const problem = domainError(host);
  return problem === null ? host : fail(errors, path, `"${d}": ${problem}`);
}

function route(r: Obj, vh: Obj, rc: Obj, path: string, errors: Errors, clusters: Set<string>): Obj | null {
  refuseOthers(
    r,
    T.route,
    ['name', 'match', 'route', 'redirect', 'direct_response', 'request_headers_to_add', 'request_headers_to_remove', 'response_headers_to_add', 'response_headers_to_remove'],
    IGNORED_ROUTE,
    path,
    errors,
  );
  const before = errors.length;
  const match = routeMatch(isObj(r.match) ? r.match : {}, join(path, 'match'), errors);
  const out: Obj = {};
  switch (r.action) {
    case 'route': {
      const a = routeAction(isObj(r.route) ? r.route : {}, vh, match, join(path, 'route'), errors, clusters);
      if (a === null) break;
      const request = emptyEdits();
      const response = emptyEdits();
      levels(r, vh, rc, path, errors, request, response);
      const req = finishEdits(request, 'request', join(path, 'request_headers_to_add'), errors);
      const res = finishEdits(response, 'response', join(path, 'response_headers_to_add'), errors);
      out.route = { ...a, ...(req ? { requestHeaders: req } : {}), ...(res ? { responseHeaders: res } : {}) };
      break;
    }
    case 'redirect':
      out.redirect = redirect(isObj(r.redirect) ? r.redirect : {}, join(path, 'redirect'), errors);
      break;
    case 'direct_response':
      out.directResponse = directResponse(isObj(r.direct_response) ? r.direct_response : {}, join(path, 'direct_response'), errors);
      break;
    case undefined:
      fail(errors, path, 'one of route, redirect, direct_response is required');
      break;
    default:
      fail(errors, join(path, String(r.action)), NOT_SUPPORTED);
  }
  if (r.action !== 'route') {
    // Header edits on a redirect or direct response: our routes apply them to forwarded requests only.
    const request = emptyEdits();
    const response = emptyEdits();
    levels(r, {}, {}, path, errors, request, response);
    if (request.remove.length + Object.keys(request.set).length + Object.keys(request.add).length + response.remove.length + Object.keys(response.set).length + Object.keys(response.add).length > 0) {
      fail(errors, path, 'header edits on a redirect or direct_response are not supported');
    }
  }
  if (errors.length > before || match === null) return null;
  return { match, ...out };
}

/** Route, then virtual host, then RouteConfiguration edits (Envoy's order of application). */
function levels(r: Obj, vh: Obj, rc: Obj, path: string, errors: Errors, request: HeaderEditsInput, response: HeaderEditsInput): void {
  const overwriteWins = rc.most_specific_header_mutations_wins !== true;
  const at = (base: string, level: Obj) => {
    addEdits(request, level.request_headers_to_add, level.request_headers_to_remove, { add: join(base, 'request_headers_to_add'), remove: join(base, 'request_headers_to_remove') }, errors, overwriteWins);
    addEdits(response, level.response_headers_to_add, level.response_headers_to_remove, { add: join(base, 'response_headers_to_add'), remove: join(base, 'response_headers_to_remove') }, errors, overwriteWins);
  };
  at(path, r);
  at(path.replace(/\.routes\[\d+\]$/, ''), vh);
  at('', rc);
}

function routeMatch(m: Obj, path: string, errors: Errors): Obj | null {
  refuseOthers(m, T.match, ['prefix', 'path', 'safe_regex', 'headers', 'query_parameters', 'case_sensitive'], [], path, errors);
  if (wrapped<boolean>(m.case_sensitive) === false) fail(errors, join(path, 'case_sensitive'), 'false is not supported (paths are matched case-sensitively)');
  const out: Obj = {};
  switch (m.path_specifier) {
    case 'prefix': {
      const p = String(m.prefix);
      if (p === '') out.prefix = '/';
      else if (!p.startsWith('/')) return fail(errors, join(path, 'prefix'), 'must start with /');
      else out.prefix = p;
      break;
    }
    case 'path': {
      const p = String(m.path);
      if (!p.startsWith('/')) return fail(errors, join(path, 'path'), 'must start with /');
      out.path = p;
      break;
    }
    case 'safe_regex': {
      const re = regexMatcher(m.safe_regex, join(path, 'safe_regex'), errors);
      if (re === null) return null;
      out.regex = re;
      break;
    }
    case undefined:
      return fail(errors, path, 'one of prefix, path, safe_regex is required');
    default:
      return fail(errors, join(path, String(m.path_specifier)), NOT_SUPPORTED);
  }
  const headers: Obj[] = [];
  for (const [i, h] of (Array.isArray(m.headers) ? m.headers : []).entries()) {
    if (!isObj(h)) continue;
    const hp = join(join(path, 'headers'), i);
    if (String(h.name ?? '').toLowerCase() === ':method') {
      // Istio matches methods with a `:method` header matcher: it becomes our `methods`.
      const method = methodOf(h);
      if (method === null) fail(errors, hp, 'only an exact, non-inverted :method match is supported');
      else out.methods = [...((out.methods as string[] | undefined) ?? []), method];
      continue;
    }
    const hm = headerMatcher(h, hp, errors);
    if (hm) headers.push(hm);
  }
  if (Array.isArray(out.methods) && out.methods.length > 1) fail(errors, join(path, 'headers'), 'two :method matchers can never both match');
  if (headers.length > 0) out.headers = headers;
  const query: Obj[] = [];
  for (const [i, q] of (Array.isArray(m.query_parameters) ? m.query_parameters : []).entries()) {
    if (!isObj(q)) continue;
    const qm = queryMatcher(q, join(join(path, 'query_parameters'), i), errors);
    if (qm) query.push(qm);
  }
  if (query.length > 0) out.query = query;
  return out;
}

function methodOf(h: Obj): string | null {
  if (h.invert_match === true) return null;
  if (h.header_match_specifier === 'exact_match') return String(h.exact_match).toUpperCase();
  if (h.header_match_specifier === 'string_match' && isObj(h.string_match) && h.string_match.match_pattern === 'exact') {
    return String(h.string_match.exact).toUpperCase();
  }
  return null;
}

function routeAction(a: Obj, vh: Obj, match: Obj | null, path: string, errors: Errors, clusters: Set<string>): Obj | null {
  refuseOthers(
    a,
    T.action,
    ['cluster', 'weighted_clusters', 'prefix_rewrite', 'host_rewrite_literal', 'timeout', 'retry_policy', 'request_mirror_policies', 'upgrade_configs', 'cluster_not_found_response_code'],
    ['priority', 'include_vh_rate_limits', 'append_x_forwarded_host', 'internal_redirect_action', 'metadata'],
    path,
    errors,
  );
  const out: Obj = {};
  switch (a.cluster_specifier) {
    case 'cluster': {
      const c = String(a.cluster);
      if (c === '') return fail(errors, join(path, 'cluster'), 'required');
      out.cluster = c;
      clusters.add(c);
      break;
    }
    case 'weighted_clusters': {
      const w = weightedClusters(isObj(a.weighted_clusters) ? a.weighted_clusters : {}, join(path, 'weighted_clusters'), errors);
      if (w === null) return null;
      out.weightedClusters = w;
      for (const e of w) clusters.add(e.cluster);
      break;
    }
    case undefined:
      return fail(errors, path, 'one of cluster, weighted_clusters is required');
    default:
      return fail(errors, join(path, String(a.cluster_specifier)), NOT_SUPPORTED);
  }
  if (a.cluster_not_found_response_code !== undefined && a.cluster_not_found_response_code !== 'SERVICE_UNAVAILABLE') {
    fail(errors, join(path, 'cluster_not_found_response_code'), `${String(a.cluster_not_found_response_code)} is not supported (a missing cluster answers 503)`);
  }
  const prefixRewrite = String(a.prefix_rewrite ?? '');
  if (prefixRewrite !== '') {
    if (match !== null && match.prefix === undefined && match.path === undefined) fail(errors, join(path, 'prefix_rewrite'), 'needs a prefix or path match (not safe_regex)');
    else if (!prefixRewrite.startsWith('/')) fail(errors, join(path, 'prefix_rewrite'), 'must start with /');
    else out.prefixRewrite = prefixRewrite;
  }
  const host = String(a.host_rewrite_literal ?? '');
  if (host !== '') out.hostRewrite = host;
  const timeout = durationMs(a.timeout);
  if (timeout !== null) out.timeout = timeout === 0 ? '0s' : durationText(timeout);
  const retry = isObj(a.retry_policy) ? a.retry_policy : isObj(vh.retry_policy) ? vh.retry_policy : null;
  if (retry) {
    const rp = retryPolicy(retry, isObj(a.retry_policy) ? join(path, 'retry_policy') : join(path.replace(/\.routes\[\d+\]\.route$/, ''), 'retry_policy'), errors);
    if (rp) out.retries = rp;
  }
  const mirrors = Array.isArray(a.request_mirror_policies) && a.request_mirror_policies.length > 0 ? a.request_mirror_policies : vh.request_mirror_policies;
  if (Array.isArray(mirrors) && mirrors.length > 0) {
    const mp = mirrors === a.request_mirror_policies ? join(path, 'request_mirror_policies') : join(path.replace(/\.routes\[\d+\]\.route$/, ''), 'request_mirror_policies');
    if (mirrors.length > 1) fail(errors, mp, 'only one mirror policy is supported');
    else if (isObj(mirrors[0])) {
      const m = mirror(mirrors[0], join(mp, 0), errors);
      if (m) {
        out.mirror = m;
        clusters.add(m.cluster);
      }
    }
  }
  for (const [i, u] of (Array.isArray(a.upgrade_configs) ? a.upgrade_configs : []).entries()) {
    if (!isObj(u)) continue;
    const up = join(join(path, 'upgrade_configs'), i);
    refuseOthers(u, T.upgrade, ['upgrade_type', 'enabled'], [], up, errors);
    if (String(u.upgrade_type).toLowerCase() !== 'websocket') fail(errors, join(up, 'upgrade_type'), `"${String(u.upgrade_type)}" is not supported (only websocket)`);
    else out.websocket = wrapped<boolean>(u.enabled) !== false;
  }
  return out;
}

function weightedClusters(w: Obj, path: string, errors: Errors): Array<{ cluster: string; weight: number }> | null {
  refuseOthers(w, T.weighted, ['clusters', 'total_weight'], ['runtime_key_prefix'], path, errors);
  const out: Array<{ cluster: string; weight: number }> = [];
  for (const [i, c] of (Array.isArray(w.clusters) ? w.clusters : []).entries()) {
    if (!isObj(c)) continue;
    const cp = join(join(path, 'clusters'), i);
    refuseOthers(c, T.weightedEntry, ['name', 'weight'], [], cp, errors);
    const name = String(c.name ?? '');
    if (name === '') {
      fail(errors, join(cp, 'name'), 'required');
      continue;
    }
    out.push({ cluster: name, weight: wrapped<number>(c.weight) ?? 0 });
  }
  if (out.length === 0) return fail(errors, join(path, 'clusters'), 'at least one cluster is required');
  const total = out.reduce((s, e) => s + e.weight, 0);
  if (total <= 0) return fail(errors, join(path, 'clusters'), 'total weight must be above 0');
  // total_weight (deprecated) only checks the sum; the split uses the weights as they are.
  const declared = wrapped<number>(w.total_weight);
  if (declared !== undefined && declared !== total) return fail(errors, join(path, 'total_weight'), `is ${declared} but the weights add up to ${total}`);
  return out;
}

const RETRY_ON: Record<string, string> = {
  '5xx': '5xx',
  'gateway-error': 'gateway-error',
  'connect-failure': 'connect-failure',
  'retriable-4xx': 'retriable-4xx',
  'refused-stream': 'refused-stream',
  reset: 'reset',
};

function retryPolicy(p: Obj, path: string, errors: Errors): Obj | null {
  refuseOthers(
    p,
    T.retry,
    ['retry_on', 'num_retries', 'per_try_timeout', 'retriable_status_codes', 'retry_host_predicate', 'retry_back_off'],
    ['host_selection_retry_max_attempts'],
    path,
    errors,
  );
  const retryOn: string[] = [];
  for (const raw of String(p.retry_on ?? '').split(',')) {
    const c = raw.trim();
    if (c === '') continue;
    if (c === 'retriable-status-codes') {
      for (const s of Array.isArray(p.retriable_status_codes) ? p.retriable_status_codes : []) retryOn.push(String(s));
    } else if (RETRY_ON[c] !== undefined) retryOn.push(RETRY_ON[c]);
    else fail(errors, join(path, 'retry_on'), `condition "${c}" is not supported`);
  }
  for (const [i, pred] of (Array.isArray(p.retry_host_predicate) ? p.retry_host_predicate : []).entries()) {
    // Our retries already avoid the endpoint that just failed: that is previous_hosts.
    if (!isObj(pred) || pred.name !== 'envoy.retry_host_predicates.previous_hosts') {
      fail(errors, join(join(path, 'retry_host_predicate'), i), `${isObj(pred) ? String(pred.name) : '?'} is not supported (only envoy.retry_host_predicates.previous_hosts)`);
    }
  }
  if (isObj(p.retry_back_off)) {
    // Our backoff is Envoy's default (25 ms base, 250 ms cap, full jitter): only that is accepted.
    const base = durationMs(p.retry_back_off.base_interval);
    const max = durationMs(p.retry_back_off.max_interval);
    if (base !== 25 || (max !== null && max !== 250)) fail(errors, join(path, 'retry_back_off'), 'only the default (25ms base, 250ms max) is supported');
  }
  if (retryOn.length === 0) return null; // Envoy: no condition, no retries
  const attempts = wrapped<number>(p.num_retries) ?? 1; // Envoy's default
  const perTry = durationMs(p.per_try_timeout);
  return {
    attempts,
    retryOn,
    // Envoy retries any method; so does a route from xDS.
    retryNonIdempotent: true,
    ...(perTry !== null && perTry > 0 ? { perTryTimeout: durationText(perTry) } : {}),
  };
}

function mirror(m: Obj, path: string, errors: Errors): { cluster: string; percent: number } | null {
  refuseOthers(m, T.mirror, ['cluster', 'runtime_fraction'], ['trace_sampled', 'disable_shadow_host_suffix_append'], path, errors);
  const cluster = String(m.cluster ?? '');
  if (cluster === '') return fail(errors, join(path, 'cluster'), 'required (cluster_header is not supported)');
  let percent = 100;
  if (isObj(m.runtime_fraction) && isObj(m.runtime_fraction.default_value)) {
    const f = m.runtime_fraction.default_value;
    const denominator = { HUNDRED: 100, TEN_THOUSAND: 10_000, MILLION: 1_000_000 }[String(f.denominator)] ?? 100;
    percent = Math.min(100, (Number(f.numerator ?? 0) / denominator) * 100);
  }
  return { cluster, percent };
}

const REDIRECT_CODES: Record<string, number> = { MOVED_PERMANENTLY: 301, FOUND: 302, SEE_OTHER: 303, TEMPORARY_REDIRECT: 307, PERMANENT_REDIRECT: 308 };

function redirect(r: Obj, path: string, errors: Errors): Obj | null {
  refuseOthers(r, T.redirect, ['path_redirect', 'response_code'], [], path, errors);
  if (r.path_rewrite_specifier !== 'path_redirect') return fail(errors, path, 'only path_redirect is supported');
  const to = String(r.path_redirect);
  if (!to.startsWith('/')) return fail(errors, join(path, 'path_redirect'), 'must start with /');
  return { to, status: REDIRECT_CODES[String(r.response_code ?? 'MOVED_PERMANENTLY')] ?? 301 };
}

function directResponse(d: Obj, path: string, errors: Errors): Obj | null {
  refuseOthers(d, T.direct, ['status', 'body'], [], path, errors);
  const status = Number(d.status);
  let body = '';
  if (isObj(d.body)) {
    const b = d.body;
    if (b.specifier === 'inline_string') body = String(b.inline_string);
    else if (b.specifier === 'inline_bytes' && b.inline_bytes instanceof Uint8Array) body = Buffer.from(b.inline_bytes).toString('utf8');
    else if (b.specifier !== undefined) return fail(errors, join(join(path, 'body'), String(b.specifier)), `${NOT_SUPPORTED} (inline bodies only)`);
  }
  return { status, body };
}
