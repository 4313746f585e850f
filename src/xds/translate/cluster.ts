import { clusterSchema, type ClusterConfig } from '../../config/schema.ts';
import { parseDuration } from '../../config/duration.ts';
import { issuesToErrors } from '../../config/zod-errors.ts';
import { TypeUrls, unpackAny, type AnyMessage } from '../../grpc/protos.ts';
import { loadAssignment, socketAddress } from './endpoints.ts';
import { durationMs, durationText, fail, isObj, join, NOT_SUPPORTED, refuseOthers, structToPlain, wrapped, type Errors, type Obj } from './fields.ts';
import type { Translation } from './route.ts';
import { upstreamTls } from './tls.ts';

// Cluster (CDS) → a cluster in the config's shape. Pure (no I/O): the certificate files it names are
// listed so the client can check them before it ACKs. Kinds:
//   EDS          → discovery { type: eds, serviceName: eds_cluster_config.service_name or the name }
//   STATIC       → discovery { type: static } from load_assignment (equal weights, one priority)
//   STRICT_DNS   → discovery { type: dns } from load_assignment's one host (dns_refresh_rate, default 5s)
//   cluster_type gatehouse.dns_srv (a Struct { name, refresh }) → discovery { type: srv }: how our control
//                plane (issue 16) sends a service version whose endpoints are an SRV name. Envoy would NACK it.
// Envoy's defaults are kept where they differ from our YAML defaults: connect_timeout 5s, TLS 1.2 minimum,
// outlier detection's consecutive gateway failures not enforced unless enforcing_consecutive_gateway_failure is 100.

export interface ClusterFragment {
  readonly name: string;
  readonly cluster: ClusterConfig;
  /** The EDS resource this cluster's endpoints come from, or null. */
  readonly edsName: string | null;
  /** Certificate, key and CA files the cluster reads. */
  readonly files: readonly string[];
}

const T = {
  cluster: 'envoy.config.cluster.v3.Cluster',
  eds: 'envoy.config.cluster.v3.Cluster.EdsClusterConfig',
  configSource: 'envoy.config.core.v3.ConfigSource',
  customType: 'envoy.config.cluster.v3.Cluster.CustomClusterType',
  transport: 'envoy.config.core.v3.TransportSocket',
  breakers: 'envoy.config.cluster.v3.CircuitBreakers',
  thresholds: 'envoy.config.cluster.v3.CircuitBreakers.Thresholds',
  outlier: 'envoy.config.cluster.v3.OutlierDetection',
  health: 'envoy.config.core.v3.HealthCheck',
  httpHealth: 'envoy.config.core.v3.HealthCheck.HttpHealthCheck',
  grpcHealth: 'envoy.config.core.v3.HealthCheck.GrpcHealthCheck',
  commonLb: 'envoy.config.cluster.v3.Cluster.CommonLbConfig',
  protocol: 'envoy.extensions.upstreams.http.v3.HttpProtocolOptions',
  explicit: 'envoy.extensions.upstreams.http.v3.HttpProtocolOptions.ExplicitHttpConfig',
  upstreamHttp: 'envoy.config.core.v3.UpstreamHttpProtocolOptions',
} as const;

/** Our custom cluster type for SRV discovery (SPEC "Control plane"). */
export const DNS_SRV_CLUSTER_TYPE = 'gatehouse.dns_srv';

const HANDLED = [
  'name', 'type', 'cluster_type', 'eds_cluster_config', 'connect_timeout', 'lb_policy', 'load_assignment', 'transport_socket',
  'circuit_breakers', 'outlier_detection', 'health_checks', 'dns_refresh_rate', 'dns_lookup_family', 'http2_protocol_options',
  'typed_extension_protocol_options', 'common_lb_config',
];
/** Tuning, telemetry and bookkeeping: they do not change which endpoint gets a request or how it is reached. */
const IGNORED = [
  'alt_stat_name', 'metadata', 'per_connection_buffer_limit_bytes', 'upstream_connection_options', 'track_cluster_stats',
  'track_timeout_budgets', 'cleanup_interval', 'dns_failure_refresh_rate', 'use_tcp_for_dns_lookups', 'respect_dns_ttl',
  'preconnect_policy', 'close_connections_on_host_health_failure', 'ignore_health_on_host_removal', 'common_http_protocol_options',
  'max_requests_per_connection', 'wait_for_warm_on_init', 'lrs_server', 'ring_hash_lb_config', 'maglev_lb_config',
  'least_request_lb_config', 'round_robin_lb_config', 'http_protocol_options', 'upstream_http_protocol_options',
];

const LB: Record<string, string> = { ROUND_ROBIN: 'round_robin', LEAST_REQUEST: 'least_request', RANDOM: 'random', RING_HASH: 'ring_hash', MAGLEV: 'maglev' };

/** Disables a consecutive-failure detector that Envoy would not enforce (ours are always on). */
const NEVER = 2 ** 31 - 1;

export function translateCluster(c: Obj): Translation<ClusterFragment> {
  const errors: Errors = [];
  refuseOthers(c, T.cluster, HANDLED, IGNORED, '', errors);
  const name = String(c.name ?? '');
  if (name === '') fail(errors, 'name', 'required');
  const input: Obj = { name };
  const kind = discovery(c, name, errors);
  if (kind) input.discovery = kind.discovery;
  const policy = LB[String(c.lb_policy ?? 'ROUND_ROBIN')];
  if (policy === undefined) fail(errors, 'lb_policy', `${String(c.lb_policy)} is ${NOT_SUPPORTED}`);
  else input.loadBalancer = { policy };
  if (isObj(c.common_lb_config)) {
    refuseOthers(c.common_lb_config, T.commonLb, [], ['healthy_panic_threshold', 'update_merge_window', 'ignore_new_hosts_until_first_hc', 'close_connections_on_host_set_change', 'consistent_hashing_lb_config'], 'common_lb_config', errors);
  }
  const connect = durationMs(c.connect_timeout);
  input.connectTimeout = durationText(connect !== null && connect > 0 ? connect : 5000); // Envoy's default: 5s
  if (isObj(c.transport_socket)) {
    const tls = transportSocket(c.transport_socket, 'transport_socket', errors);
    if (tls) input.tls = tls;
  }
  const http2 = httpProtocol(c, input.tls !== undefined, errors);
  if (http2 !== null) input.http2 = http2;
  if (isObj(c.circuit_breakers)) {
    const b = circuitBreakers(c.circuit_breakers, 'circuit_breakers', errors);
    if (b) input.circuitBreakers = b;
  }
  if (isObj(c.outlier_detection)) {
    const o = outlierDetection(c.outlier_detection, 'outlier_detection', errors);
    if (o) input.outlierDetection = o;
  }
  const checks = Array.isArray(c.health_checks) ? c.health_checks : [];
  if (checks.length > 1) fail(errors, 'health_checks', 'only one health check is supported');
  if (isObj(checks[0])) {
    const h = healthCheck(checks[0], 'health_checks[0]', errors);
    if (h) input.healthCheck = h;
  }
  if (errors.length > 0) return { ok: false, errors };
  const parsed = clusterSchema.safeParse(input);
  if (!parsed.success) return { ok: false, errors: issuesToErrors(parsed.error.issues).map((e) => ({ path: '(translated)', message: `${e.path}: ${e.message}` })) };
  const tls = parsed.data.tls;
  // The schema made the paths absolute: those are the files compile() will read.
  const files = tls ? [tls.certFile, tls.keyFile, tls.caFile].filter((f): f is string => f !== undefined) : [];
  return { ok: true, value: { name, cluster: parsed.data, edsName: kind?.edsName ?? null, files } };
}

function discovery(c: Obj, name: string, errors: Errors): { discovery: Obj; edsName: string | null } | null {
  if (c.cluster_discovery_type === 'cluster_type') return customType(isObj(c.cluster_type) ? c.cluster_type : {}, errors);
  const type = String(c.type ?? 'STATIC');
  const la = isObj(c.load_assignment) ? c.load_assignment : null;
  switch (type) {
    case 'EDS': {
      if (la) fail(errors, 'load_assignment', 'not used by an EDS cluster (its endpoints come from EDS)');
      const eds = isObj(c.eds_cluster_config) ? c.eds_cluster_config : {};
      refuseOthers(eds, T.eds, ['service_name', 'eds_config'], [], 'eds_cluster_config', errors);
      if (isObj(eds.eds_config)) {
        // Every resource comes over our one ADS stream; a file source is not followed.
        const src = eds.eds_config;
        if (src.config_source_specifier === 'path' || src.config_source_specifier === 'path_config_source') {
          fail(errors, `eds_cluster_config.eds_config.${String(src.config_source_specifier)}`, `${NOT_SUPPORTED} (endpoints come over ADS)`);
        }
      }
      const edsName = String(eds.service_name ?? '') || name;
      return { discovery: { type: 'eds', serviceName: edsName }, edsName };
    }
    case 'STATIC': {
      const addrs = la ? loadAssignment(la, 'load_assignment', errors, { hostnames: false }) : [];
      if (addrs.length === 0) return fail(errors, 'load_assignment', 'a STATIC cluster needs at least one endpoint');
      if (addrs.some((a) => a.weight !== addrs[0]!.weight || (a.priority ?? 0) !== 0)) {
        return fail(errors, 'load_assignment', 'weights and priorities in a STATIC cluster are not supported (use EDS)');
      }
      return { discovery: { type: 'static', endpoints: addrs.map((a) => (a.host.includes(':') ? `[${a.host}]:${a.port}` : `${a.host}:${a.port}`)) }, edsName: null };
    }
    case 'STRICT_DNS': {
      const hosts = la ? dnsHosts(la, errors) : [];
      if (hosts.length !== 1) return fail(errors, 'load_assignment', 'a STRICT_DNS cluster needs exactly one host:port');
      const family = String(c.dns_lookup_family ?? 'AUTO');
      if (family !== 'AUTO' && family !== 'ALL' && family !== 'V4_PREFERRED') fail(errors, 'dns_lookup_family', `${family} is ${NOT_SUPPORTED} (A and AAAA are both used)`);
      const refresh = durationMs(c.dns_refresh_rate);
      return { discovery: { type: 'dns', host: hosts[0]!.host, port: hosts[0]!.port, refresh: durationText(refresh !== null && refresh > 0 ? refresh : 5000) }, edsName: null };
    }
    default:
      return fail(errors, 'type', `${type} is ${NOT_SUPPORTED} (EDS, STATIC, STRICT_DNS)`);
  }
}

function dnsHosts(la: Obj, errors: Errors): Array<{ host: string; port: number }> {
  const out: Array<{ host: string; port: number }> = [];
  for (const [i, loc] of (Array.isArray(la.endpoints) ? la.endpoints : []).entries()) {
    for (const [j, lb] of (isObj(loc) && Array.isArray(loc.lb_endpoints) ? loc.lb_endpoints : []).entries()) {
      if (!isObj(lb) || !isObj(lb.endpoint)) continue;
      const a = socketAddress(lb.endpoint.address, `load_assignment.endpoints[${i}].lb_endpoints[${j}].endpoint.address`, errors, { hostnames: true });
      if (a) out.push(a);
    }
  }
  return out;
}

function customType(t: Obj, errors: Errors): { discovery: Obj; edsName: null } | null {
  refuseOthers(t, T.customType, ['name', 'typed_config'], [], 'cluster_type', errors);
  if (t.name !== DNS_SRV_CLUSTER_TYPE) return fail(errors, 'cluster_type.name', `"${String(t.name)}" is not supported (only ${DNS_SRV_CLUSTER_TYPE})`);
  const any = t.typed_config as AnyMessage | null;
  if (!any || any.type_url !== TypeUrls.struct) return fail(errors, 'cluster_type.typed_config', 'expected a google.protobuf.Struct { name, refresh }');
  let cfg: Obj;
  try {
    cfg = structToPlain(unpackAny(any));
  } catch (err) {
    return fail(errors, 'cluster_type.typed_config', `cannot decode: ${(err as Error).message}`);
  }
  const srvName = typeof cfg.name === 'string' ? cfg.name : '';
  if (srvName === '') return fail(errors, 'cluster_type.typed_config.name', 'required (an SRV name like _https._tcp.x.mesh.local)');
  const out: Obj = { type: 'srv', name: srvName };
  if (cfg.refresh !== undefined) {
    if (typeof cfg.refresh !== 'string' || parseDuration(cfg.refresh) === null) return fail(errors, 'cluster_type.typed_config.refresh', 'expected a duration like 30s');
    out.refresh = cfg.refresh;
  }
  for (const k of Object.keys(cfg)) if (k !== 'name' && k !== 'refresh') fail(errors, `cluster_type.typed_config.${k}`, NOT_SUPPORTED);
  return { discovery: out, edsName: null };
}

function transportSocket(ts: Obj, path: string, errors: Errors): ReturnType<typeof upstreamTls> {
  refuseOthers(ts, T.transport, ['name', 'typed_config'], [], path, errors);
  const any = ts.typed_config as AnyMessage | null;
  const name = String(ts.name ?? '');
  if (!any || any.type_url === '') {
    if (name === 'envoy.transport_sockets.raw_buffer' || name === '') return null;
    return fail(errors, join(path, 'typed_config'), 'required');
  }
  if (any.type_url === 'type.googleapis.com/envoy.extensions.transport_sockets.raw_buffer.v3.RawBuffer') return null;
  if (any.type_url !== TypeUrls.upstreamTlsContext) return fail(errors, join(path, 'typed_config'), `${any.type_url} is ${NOT_SUPPORTED} (UpstreamTlsContext or raw_buffer)`);
  let ctx: Obj;
  try {
    ctx = unpackAny(any);
  } catch (err) {
    return fail(errors, join(path, 'typed_config'), `cannot decode: ${(err as Error).message}`);
  }
  return upstreamTls(ctx, join(path, 'typed_config'), errors);
}

const HTTP_OPTIONS_KEY = 'envoy.extensions.upstreams.http.v3.HttpProtocolOptions';

/** HTTP/2 to the upstream: the deprecated http2_protocol_options, or HttpProtocolOptions. null: not said. */
function httpProtocol(c: Obj, tls: boolean, errors: Errors): boolean | null {
  let http2: boolean | null = isObj(c.http2_protocol_options) ? true : null;
  const opts = isObj(c.typed_extension_protocol_options) ? c.typed_extension_protocol_options : {};
  for (const [key, raw] of Object.entries(opts)) {
    const path = `typed_extension_protocol_options["${key}"]`;
    const any = raw as AnyMessage;
    if (key !== HTTP_OPTIONS_KEY || any?.type_url !== TypeUrls.httpProtocolOptions) {
      fail(errors, path, NOT_SUPPORTED);
      continue;
    }
    let o: Obj;
    try {
      o = unpackAny(any);
    } catch (err) {
      fail(errors, path, `cannot decode: ${(err as Error).message}`);
      continue;
    }
    refuseOthers(o, T.protocol, ['explicit_http_config', 'auto_config', 'upstream_http_protocol_options'], ['common_http_protocol_options'], path, errors);
    if (isObj(o.upstream_http_protocol_options)) {
      // auto_sni/auto_san_validation take the SNI from the client's Host: not supported.
      refuseOthers(o.upstream_http_protocol_options, T.upstreamHttp, [], [], `${path}.upstream_http_protocol_options`, errors);
    }
    if (o.upstream_protocol_options === 'explicit_http_config' && isObj(o.explicit_http_config)) {
      const e = o.explicit_http_config;
      if (e.protocol_config === 'http2_protocol_options') http2 = true;
      else if (e.protocol_config === 'http_protocol_options') http2 = false;
      else fail(errors, `${path}.explicit_http_config.${String(e.protocol_config)}`, NOT_SUPPORTED);
    } else if (o.upstream_protocol_options === 'auto_config') {
      // ALPN picks h2 or http/1.1 over TLS (as undici does with HTTP/2 allowed); plain text stays HTTP/1.1.
      http2 = tls;
    } else if (o.upstream_protocol_options !== undefined) {
      fail(errors, `${path}.${String(o.upstream_protocol_options)}`, NOT_SUPPORTED);
    }
  }
  return http2;
}

function circuitBreakers(b: Obj, path: string, errors: Errors): Obj | null {
  refuseOthers(b, T.breakers, ['thresholds'], [], path, errors);
  const list = Array.isArray(b.thresholds) ? b.thresholds : [];
  const idx = list.findIndex((t) => isObj(t) && (t.priority ?? 'DEFAULT') === 'DEFAULT');
  if (idx === -1) return null; // only HIGH-priority thresholds: our routes are all DEFAULT priority
  const t = list[idx] as Obj;
  const tp = join(join(path, 'thresholds'), idx);
  refuseOthers(t, T.thresholds, ['priority', 'max_connections', 'max_pending_requests', 'max_requests', 'max_retries'], ['track_remaining'], tp, errors);
  const out: Obj = {};
  for (const [ours, theirs] of [['maxConnections', 'max_connections'], ['maxPendingRequests', 'max_pending_requests'], ['maxRequests', 'max_requests']] as const) {
    const v = wrapped<number>(t[theirs]);
    if (v === undefined) continue;
    if (v < 1) fail(errors, join(tp, theirs), 'must be at least 1');
    else out[ours] = v;
  }
  const retries = wrapped<number>(t.max_retries);
  if (retries !== undefined) out.maxRetries = retries;
  return out;
}

function outlierDetection(o: Obj, path: string, errors: Errors): Obj | null {
  refuseOthers(
    o,
    T.outlier,
    ['consecutive_5xx', 'interval', 'base_ejection_time', 'max_ejection_percent', 'enforcing_consecutive_5xx', 'consecutive_gateway_failure', 'enforcing_consecutive_gateway_failure', 'enforcing_success_rate', 'enforcing_failure_percentage'],
    [
      'success_rate_minimum_hosts', 'success_rate_request_volume', 'success_rate_stdev_factor', 'failure_percentage_threshold',
      'failure_percentage_minimum_hosts', 'failure_percentage_request_volume', 'max_ejection_time', 'max_ejection_time_jitter',
      'successful_active_health_check_uneject_host', 'always_eject_one_host', 'consecutive_local_origin_failure',
      'enforcing_consecutive_local_origin_failure', 'enforcing_local_origin_success_rate', 'enforcing_failure_percentage_local_origin',
    ],
    path,
    errors,
  );
  const enforced = (field: string, dflt: number): boolean | null => {
    const v = wrapped<number>(o[field]) ?? dflt;
    if (v === 0) return false;
    if (v === 100) return true;
    return fail(errors, join(path, field), 'only 0 or 100 is supported (detection is on or off)');
  };
  if (wrapped<number>(o.enforcing_success_rate) !== undefined && wrapped<number>(o.enforcing_success_rate) !== 0) {
    fail(errors, join(path, 'enforcing_success_rate'), 'success-rate ejection is not supported (set it to 0)');
  }
  if ((wrapped<number>(o.enforcing_failure_percentage) ?? 0) !== 0) fail(errors, join(path, 'enforcing_failure_percentage'), 'failure-percentage ejection is not supported');
  const fiveXx = enforced('enforcing_consecutive_5xx', 100);
  const gateway = enforced('enforcing_consecutive_gateway_failure', 0);
  if (fiveXx === null || gateway === null) return null;
  const out: Obj = {
    consecutive5xx: fiveXx ? (wrapped<number>(o.consecutive_5xx) ?? 5) : NEVER,
    consecutiveGatewayErrors: gateway ? (wrapped<number>(o.consecutive_gateway_failure) ?? 5) : NEVER,
  };
  const interval = durationMs(o.interval);
  if (interval !== null) out.interval = durationText(interval);
  const base = durationMs(o.base_ejection_time);
  if (base !== null) out.baseEjectionTime = durationText(base);
  const max = wrapped<number>(o.max_ejection_percent);
  if (max !== undefined) out.maxEjectionPercent = max;
  return out;
}

function healthCheck(h: Obj, path: string, errors: Errors): Obj | null {
  refuseOthers(
    h,
    T.health,
    ['timeout', 'interval', 'unhealthy_threshold', 'healthy_threshold', 'http_health_check', 'grpc_health_check'],
    ['interval_jitter', 'interval_jitter_percent', 'initial_jitter', 'no_traffic_interval', 'no_traffic_healthy_interval', 'unhealthy_interval', 'unhealthy_edge_interval', 'healthy_edge_interval', 'reuse_connection', 'always_log_health_check_failures', 'always_log_health_check_success'],
    path,
    errors,
  );
  const out: Obj = {};
  const timeout = durationMs(h.timeout);
  if (timeout !== null && timeout > 0) out.timeout = durationText(timeout);
  const interval = durationMs(h.interval);
  if (interval !== null && interval > 0) out.interval = durationText(interval);
  const unhealthy = wrapped<number>(h.unhealthy_threshold);
  if (unhealthy !== undefined) out.unhealthyThreshold = Math.max(1, unhealthy);
  const healthy = wrapped<number>(h.healthy_threshold);
  if (healthy !== undefined) out.healthyThreshold = Math.max(1, healthy);
  if (h.health_checker === 'http_health_check' && isObj(h.http_health_check)) {
    const hh = h.http_health_check;
    refuseOthers(hh, T.httpHealth, ['path'], [], join(path, 'http_health_check'), errors);
    const p = String(hh.path ?? '');
    if (!p.startsWith('/')) return fail(errors, join(path, 'http_health_check.path'), 'must start with /');
    out.path = p;
  } else if (h.health_checker === 'grpc_health_check' && isObj(h.grpc_health_check)) {
    refuseOthers(h.grpc_health_check, T.grpcHealth, ['service_name'], [], join(path, 'grpc_health_check'), errors);
    out.grpc = { service: String(h.grpc_health_check.service_name ?? '') };
  } else {
    return fail(errors, join(path, String(h.health_checker ?? 'health_checker')), `${NOT_SUPPORTED} (http_health_check or grpc_health_check)`);
  }
  return out;
}
