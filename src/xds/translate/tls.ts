import { fail, isObj, join, NOT_SUPPORTED, refuseOthers, type Errors, type Obj } from './fields.ts';

// UpstreamTlsContext → the cluster's `tls`. Certificates come from files only (filename data sources;
// SDS, inline keys and certificate providers are refused): the files are read and watched like every
// other certificate of the gateway. Verification is never off: trust_chain_verification
// ACCEPT_UNTRUSTED is refused, and without trusted_ca the system CAs are used (Envoy would not
// verify at all). SAN matchers become `matchSubjectAltNames` entries:
//   URI exact → uri:<v>   URI prefix → uri-prefix:<v>   DNS exact → dns:<v>   DNS prefix → dns-prefix:<v>
// (the deprecated untyped match_subject_alt_names match either type, so they give both forms).

export interface ClusterTlsInput {
  certFile?: string;
  keyFile?: string;
  caFile?: string;
  serverName?: string;
  matchSubjectAltNames?: string[];
  minVersion: 'TLSv1.2' | 'TLSv1.3';
}

const TYPE = {
  upstream: 'envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext',
  common: 'envoy.extensions.transport_sockets.tls.v3.CommonTlsContext',
  params: 'envoy.extensions.transport_sockets.tls.v3.TlsParameters',
  cert: 'envoy.extensions.transport_sockets.tls.v3.TlsCertificate',
  validation: 'envoy.extensions.transport_sockets.tls.v3.CertificateValidationContext',
  combined: 'envoy.extensions.transport_sockets.tls.v3.CommonTlsContext.CombinedCertificateValidationContext',
  san: 'envoy.extensions.transport_sockets.tls.v3.SubjectAltNameMatcher',
  matcher: 'envoy.type.matcher.v3.StringMatcher',
} as const;

export function upstreamTls(ctx: Obj, path: string, errors: Errors): ClusterTlsInput | null {
  refuseOthers(ctx, TYPE.upstream, ['common_tls_context', 'sni'], ['allow_renegotiation', 'max_session_keys', 'enforce_rsa_key_usage'], path, errors);
  const out: ClusterTlsInput = { minVersion: 'TLSv1.2' };
  const sni = String(ctx.sni ?? '');
  if (sni !== '') out.serverName = sni;
  if (!isObj(ctx.common_tls_context)) return out;
  const c = ctx.common_tls_context;
  const cp = join(path, 'common_tls_context');
  refuseOthers(c, TYPE.common, ['tls_params', 'tls_certificates', 'validation_context', 'combined_validation_context'], ['alpn_protocols'], cp, errors);
  if (isObj(c.tls_params)) tlsParams(c.tls_params, join(cp, 'tls_params'), errors, out);
  const certs = Array.isArray(c.tls_certificates) ? c.tls_certificates : [];
  if (certs.length > 1) fail(errors, join(cp, 'tls_certificates'), 'only one client certificate is supported');
  if (isObj(certs[0])) clientCertificate(certs[0], join(join(cp, 'tls_certificates'), 0), errors, out);
  if (c.validation_context_type === 'validation_context' && isObj(c.validation_context)) {
    validation(c.validation_context, join(cp, 'validation_context'), errors, out);
  } else if (c.validation_context_type === 'combined_validation_context' && isObj(c.combined_validation_context)) {
    const cv = c.combined_validation_context;
    const cvp = join(cp, 'combined_validation_context');
    refuseOthers(cv, TYPE.combined, ['default_validation_context'], [], cvp, errors);
    if (isObj(cv.default_validation_context)) validation(cv.default_validation_context, join(cvp, 'default_validation_context'), errors, out);
  } else if (c.validation_context_type !== undefined) {
    fail(errors, join(cp, String(c.validation_context_type)), `${NOT_SUPPORTED} (file-based validation contexts only)`);
  }
  return out;
}

const VERSIONS: Record<string, 'TLSv1.2' | 'TLSv1.3' | null> = { TLS_AUTO: 'TLSv1.2', TLSv1_2: 'TLSv1.2', TLSv1_3: 'TLSv1.3', TLSv1_0: null, TLSv1_1: null };

function tlsParams(p: Obj, path: string, errors: Errors, out: ClusterTlsInput): void {
  refuseOthers(p, TYPE.params, ['tls_minimum_protocol_version', 'tls_maximum_protocol_version'], [], path, errors);
  const min = VERSIONS[String(p.tls_minimum_protocol_version ?? 'TLS_AUTO')];
  if (min === null || min === undefined) fail(errors, join(path, 'tls_minimum_protocol_version'), `${String(p.tls_minimum_protocol_version)} is not supported (TLSv1_2 or TLSv1_3)`);
  else out.minVersion = min;
  const max = String(p.tls_maximum_protocol_version ?? 'TLS_AUTO');
  if (max !== 'TLS_AUTO' && max !== 'TLSv1_3') fail(errors, join(path, 'tls_maximum_protocol_version'), `${max} is not supported (TLS_AUTO or TLSv1_3)`);
}

/** A DataSource that must name a file. */
function filename(d: unknown, path: string, errors: Errors): string | null {
  if (!isObj(d) || d.specifier === undefined) return null;
  if (d.specifier !== 'filename') return fail(errors, join(path, String(d.specifier)), `${NOT_SUPPORTED} (files only: the gateway reads and watches them)`);
  const f = String(d.filename);
  return f === '' ? fail(errors, join(path, 'filename'), 'required') : f;
}

function clientCertificate(c: Obj, path: string, errors: Errors, out: ClusterTlsInput): void {
  refuseOthers(c, TYPE.cert, ['certificate_chain', 'private_key'], ['watched_directory'], path, errors);
  const cert = filename(c.certificate_chain, join(path, 'certificate_chain'), errors);
  const key = filename(c.private_key, join(path, 'private_key'), errors);
  if ((cert === null) !== (key === null)) {
    fail(errors, path, 'certificate_chain and private_key go together');
    return;
  }
  if (cert !== null && key !== null) {
    out.certFile = cert;
    out.keyFile = key;
  }
}

function validation(v: Obj, path: string, errors: Errors, out: ClusterTlsInput): void {
  refuseOthers(v, TYPE.validation, ['trusted_ca', 'match_typed_subject_alt_names', 'match_subject_alt_names', 'trust_chain_verification'], ['watched_directory', 'max_verify_depth'], path, errors);
  if (v.trust_chain_verification !== undefined && v.trust_chain_verification !== 'VERIFY_TRUST_CHAIN') {
    fail(errors, join(path, 'trust_chain_verification'), 'must be VERIFY_TRUST_CHAIN (verification is never turned off)');
  }
  const ca = filename(v.trusted_ca, join(path, 'trusted_ca'), errors);
  if (ca !== null) out.caFile = ca;
  const sans: string[] = [];
  for (const [i, m] of (Array.isArray(v.match_typed_subject_alt_names) ? v.match_typed_subject_alt_names : []).entries()) {
    if (isObj(m)) typedSan(m, join(join(path, 'match_typed_subject_alt_names'), i), errors, sans);
  }
  for (const [i, m] of (Array.isArray(v.match_subject_alt_names) ? v.match_subject_alt_names : []).entries()) {
    if (!isObj(m)) continue;
    const p = join(join(path, 'match_subject_alt_names'), i);
    const s = sanString(m, p, errors, false);
    if (s) sans.push(`uri${s.prefix ? '-prefix' : ''}:${s.value}`, `dns${s.prefix ? '-prefix' : ''}:${s.value}`);
  }
  if (sans.length > 0) out.matchSubjectAltNames = [...new Set(sans)];
}

function typedSan(m: Obj, path: string, errors: Errors, sans: string[]): void {
  refuseOthers(m, TYPE.san, ['san_type', 'matcher'], [], path, errors);
  const type = String(m.san_type);
  if (type !== 'URI' && type !== 'DNS') {
    fail(errors, join(path, 'san_type'), `${type} is not supported (URI or DNS)`);
    return;
  }
  if (!isObj(m.matcher)) {
    fail(errors, join(path, 'matcher'), 'required');
    return;
  }
  // DNS names are compared without regard to case anyway.
  const s = sanString(m.matcher, join(path, 'matcher'), errors, type === 'DNS');
  if (s) sans.push(`${type.toLowerCase()}${s.prefix ? '-prefix' : ''}:${s.value}`);
}

/** A SAN StringMatcher: exact or prefix only. */
function sanString(m: Obj, path: string, errors: Errors, caseFree: boolean): { value: string; prefix: boolean } | null {
  refuseOthers(m, TYPE.matcher, ['exact', 'prefix', ...(caseFree ? ['ignore_case'] : [])], [], path, errors);
  if (m.match_pattern === 'exact' && String(m.exact) !== '') return { value: String(m.exact), prefix: false };
  if (m.match_pattern === 'prefix' && String(m.prefix) !== '') return { value: String(m.prefix), prefix: true };
  return fail(errors, path, 'only a non-empty exact or prefix match is supported for a SAN');
}
