// One catalogue of the responses the gateway makes itself (SPEC "Responses the gateway itself makes").
// Each code has one status; the JSON body and its bytes are built once here, never per request,
// except for the request id which is spliced in. Each code also says what a gRPC client is told
// (proxy/respond.ts answers `content-type: application/grpc` requests in gRPC's own terms) and
// whether the rest of the request's bytes can still be trusted.

/** gRPC status codes (grpc/doc/statuscodes.md). */
export const GrpcStatus = Object.freeze({
  OK: 0,
  CANCELLED: 1,
  UNKNOWN: 2,
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  NOT_FOUND: 5,
  PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
  UNAUTHENTICATED: 16,
});

/**
 * gRPC's HTTP → status mapping (grpc/doc/http-grpc-status-mapping.md, as Envoy applies it):
 * 400 INTERNAL, 401 UNAUTHENTICATED, 403 PERMISSION_DENIED, 404 UNIMPLEMENTED,
 * 429/502/503/504 UNAVAILABLE, anything else UNKNOWN.
 */
export function grpcStatusForHttp(status: number): number {
  switch (status) {
    case 400:
      return GrpcStatus.INTERNAL;
    case 401:
      return GrpcStatus.UNAUTHENTICATED;
    case 403:
      return GrpcStatus.PERMISSION_DENIED;
    case 404:
      return GrpcStatus.UNIMPLEMENTED;
    case 429:
    case 502:
    case 503:
    case 504:
      return GrpcStatus.UNAVAILABLE;
    default:
      return GrpcStatus.UNKNOWN;
  }
}

export interface GatewayErrorSpec {
  readonly code: string;
  readonly status: number;
  readonly message: string;
  /** The status a gRPC client gets (HTTP 200, trailers-only, `grpc-status`). */
  readonly grpcStatus: number;
  /**
   * The request's remaining bytes cannot be trusted or are not worth reading (malformed, too large,
   * too slow): HTTP/1.1 closes the connection after the answer, HTTP/2 resets the stream's unread body.
   */
  readonly endsRequestStream: boolean;
}

interface SpecOptions {
  /** Overrides the HTTP → gRPC mapping. */
  readonly grpcStatus?: number;
  readonly endsRequestStream?: boolean;
}

export function spec(code: string, status: number, message: string, o: SpecOptions = {}): GatewayErrorSpec {
  return Object.freeze({
    code,
    status,
    message,
    grpcStatus: o.grpcStatus ?? grpcStatusForHttp(status),
    endsRequestStream: o.endsRequestStream ?? false,
  });
}

// Where the mapping is silent or misleading for what the gateway means, we choose:
//  - a timeout is DEADLINE_EXCEEDED, not UNAVAILABLE: the call may have run upstream, and UNAVAILABLE
//    tells clients a retry is safe;
//  - a request too large is RESOURCE_EXHAUSTED (what gRPC servers answer for an oversized message);
//  - the gateway's own bug is INTERNAL.
const ENDS = { endsRequestStream: true } as const;

export const Errors = Object.freeze({
  noRoute: spec('route_not_found', 404, 'no route matches this request'),
  noVirtualHost: spec('route_not_found', 404, 'no virtual host matches this host'),
  unauthenticated: spec('unauthenticated', 401, 'a valid access token is required'),
  invalidToken: spec('invalid_token', 401, 'the access token is not valid'),
  forbidden: spec('forbidden', 403, 'access denied'),
  rateLimited: spec('rate_limited', 429, 'too many requests'),
  headersTooLarge: spec('header_fields_too_large', 431, 'request header block too large', { ...ENDS, grpcStatus: GrpcStatus.RESOURCE_EXHAUSTED }),
  bodyTooLarge: spec('payload_too_large', 413, 'request body too large', { ...ENDS, grpcStatus: GrpcStatus.RESOURCE_EXHAUSTED }),
  badRequest: spec('bad_request', 400, 'malformed request', ENDS),
  underscoreHeader: spec('bad_request', 400, 'header names with underscores are not accepted', ENDS),
  unsupportedTransferCoding: spec('unsupported_transfer_coding', 501, 'only the chunked transfer coding is supported', ENDS),
  connectNotSupported: spec('method_not_supported', 501, 'CONNECT (a proxy tunnel) is not supported', ENDS),
  httpVersionNotSupported: spec('http_version_not_supported', 505, 'HTTP/1.x, or HTTP/2 negotiated by ALPN, only', ENDS),
  noHealthyUpstream: spec('no_healthy_upstream', 503, 'no healthy upstream endpoint'),
  circuitOpen: spec('circuit_open', 503, 'upstream circuit breaker open'),
  upstreamConnectFailure: spec('upstream_connect_failure', 502, 'could not connect to the upstream'),
  upstreamReset: spec('upstream_reset', 502, 'the upstream reset the connection'),
  upstreamProtocolError: spec('upstream_protocol_error', 502, 'the upstream sent an invalid response'),
  upstreamTimeout: spec('upstream_timeout', 504, 'the upstream did not answer in time', { grpcStatus: GrpcStatus.DEADLINE_EXCEEDED }),
  requestTimeout: spec('request_timeout', 408, 'the request was not received in time', { ...ENDS, grpcStatus: GrpcStatus.DEADLINE_EXCEEDED }),
  extAuthzDenied: spec('ext_authz_denied', 403, 'denied by the external authorization service'),
  extAuthzError: spec('ext_authz_error', 403, 'the external authorization service could not decide'),
  upgradeNotAllowed: spec('upgrade_not_allowed', 403, 'this route does not accept protocol upgrades'),
  draining: spec('draining', 503, 'the gateway is shutting down'),
  overloaded: spec('overloaded', 503, 'the gateway is overloaded; retry later'),
  internal: spec('internal_error', 500, 'internal error', { grpcStatus: GrpcStatus.INTERNAL }),
});

/** Answer of a `fault.abort` (the status is the route's choice). */
export function faultAbort(status: number): GatewayErrorSpec {
  return spec('fault_injected', status, 'fault injected by the gateway');
}

export type ErrorKey = keyof typeof Errors;

/** The JSON body of a gateway response: `{ "error", "message", "requestId" }`. */
export function errorBody(e: GatewayErrorSpec, requestId: string): string {
  // requestId is validated ([A-Za-z0-9._:-]) or generated by us, so it never needs escaping.
  return `{"error":"${e.code}","message":"${e.message}","requestId":"${requestId}"}`;
}
