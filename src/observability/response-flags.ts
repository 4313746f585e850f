import type { Exchange } from '../exchange.ts';

// Envoy-style response flags for the access log (Envoy's %RESPONSE_FLAGS%): short codes saying why a
// request ended the way it did. Most follow from the gateway's own error code; the few that cannot
// (retries exhausted, client gone, delay injected) are bits set on the exchange where they happen.
// The list joins codes with ',' in this order, or is "-" when there is none, as Envoy prints it.

/** Bits set on Exchange.flags by the code that knows. */
export const FlagBit = Object.freeze({
  /** URX: the last try failed and the retry limit was reached. */
  retriesExhausted: 1,
  /** UAEX: an external authorization service denied the request (ext_authz sets it). */
  extAuthzDenied: 2,
});

/** Gateway error code → flag (src/errors.ts codes; an unknown code gets no flag). */
const BY_ERROR_CODE: ReadonlyMap<string, string> = new Map([
  ['route_not_found', 'NR'], // no route (or virtual host)
  ['no_healthy_upstream', 'UH'],
  ['circuit_open', 'UO'], // upstream overflow: circuit breaker
  ['upstream_connect_failure', 'UF'],
  ['upstream_reset', 'UR'],
  ['upstream_protocol_error', 'UPE'],
  ['upstream_timeout', 'UT'],
  ['rate_limited', 'RL'],
  ['fault_injected', 'FI'],
  ['bad_request', 'DPE'], // downstream protocol error
  ['header_fields_too_large', 'DPE'],
  ['request_timeout', 'DT'], // the client did not send its request in time
  ['ext_authz_denied', 'UAEX'],
  ['ext_authz_error', 'UAEX'],
  ['overloaded', 'OM'], // overload manager
  ['client_stalled', 'SI'], // stream idle: the client left its response undrained for idleTimeout
]);

/** The response flags of a finished exchange, e.g. "UF,URX", or "-". */
export function responseFlags(ex: Exchange): string {
  if (ex.errorCode === null && ex.flags === 0 && ex.faultDelayMs <= 0 && !ex.clientClosed) return '-'; // most requests
  let out = '';
  const add = (f: string) => (out = out === '' ? f : `${out},${f}`);
  const byCode = ex.errorCode === null ? undefined : BY_ERROR_CODE.get(ex.errorCode);
  if (byCode !== undefined && !((ex.flags & FlagBit.extAuthzDenied) !== 0 && byCode === 'UAEX')) add(byCode);
  if ((ex.flags & FlagBit.extAuthzDenied) !== 0) add('UAEX');
  if ((ex.flags & FlagBit.retriesExhausted) !== 0) add('URX');
  if (ex.faultDelayMs > 0) add('DI');
  if (ex.clientClosed) add('DC');
  return out === '' ? '-' : out;
}
