// What an authorization service decided, in one shape for both transports (gRPC CheckResponse, HTTP
// answer), already validated: names are lower-case tokens, values hold no CR/LF/NUL, the status is one
// node can send. Anything that does not fit is a CheckFailure ('invalid_answer'), never a crash.

/** How a header edit meets an existing header (Envoy's HeaderValueOption.append / append_action). */
export type AppendAction = 'append' | 'add_if_absent' | 'overwrite' | 'overwrite_if_exists';

export interface HeaderEdit {
  readonly name: string;
  readonly value: string;
  readonly action: AppendAction;
}

export interface Allow {
  readonly kind: 'allow';
  /** Toward the upstream, in order. */
  readonly upstream: readonly HeaderEdit[];
  /** Removed from the request toward the upstream, after `upstream`. */
  readonly remove: readonly string[];
  /** Onto the response to the client. */
  readonly response: readonly HeaderEdit[];
}

export interface Deny {
  readonly kind: 'deny';
  readonly status: number;
  readonly headers: Readonly<Record<string, string | string[]>>;
  /** Empty: the gateway's JSON `ext_authz_denied` body is sent instead. */
  readonly body: Buffer;
}

export type Decision = Allow | Deny;

export type FailureReason = 'unavailable' | 'timeout' | 'invalid_answer' | 'error';

/** The service could not decide: down, too slow, or an answer that does not parse. */
export class CheckFailure extends Error {
  constructor(
    readonly reason: FailureReason,
    message: string,
  ) {
    super(message);
  }
}

export const ALLOW_UNCHANGED: Allow = Object.freeze({ kind: 'allow', upstream: [], remove: [], response: [] });

// An HTTP token, or a pseudo-header name (':path'): those are accepted and then ignored, as Envoy does.
const TOKEN = /^:?[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
// What node accepts in a header value (RFC 9110 field-value without obs-fold): no CTL but HTAB.
const FIELD_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;

/** A lower-cased header name, or a CheckFailure when it is not an HTTP token (or pseudo-header name). */
export function headerName(name: unknown): string {
  if (typeof name !== 'string' || !TOKEN.test(name)) throw new CheckFailure('invalid_answer', 'invalid header name in the answer');
  return name.toLowerCase();
}

export function headerValue(value: unknown): string {
  if (typeof value !== 'string' || !FIELD_VALUE.test(value)) throw new CheckFailure('invalid_answer', 'invalid header value in the answer');
  return value;
}

/** True for a header a service may not edit: pseudo-headers and what the gateway owns (see GATEWAY_MANAGED). */
export function isManaged(name: string): boolean {
  return name.charCodeAt(0) === 0x3a || GATEWAY_MANAGED.has(name);
}

/** Headers the gateway owns toward the upstream or the client (framing, hop-by-hop, forwarding, request id). */
const GATEWAY_MANAGED = new Set([
  'host', 'connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'te', 'trailer',
  'content-length', 'expect', 'http2-settings', 'x-forwarded-for', 'x-forwarded-proto', 'x-forwarded-host',
  'x-request-id',
]);

/** A status the gateway can answer a denial with (a service's 1xx or 600+ is a bad answer). */
export function denialStatus(code: number): number {
  if (code === 0) return 403;
  if (Number.isInteger(code) && code >= 200 && code <= 599) return code;
  throw new CheckFailure('invalid_answer', `denied with status ${code}`);
}

/** A denial's header edits applied in order to an empty header object; gateway-managed names are dropped. */
export function denialHeaders(edits: readonly HeaderEdit[]): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = Object.create(null);
  for (const e of edits) {
    if (isManaged(e.name)) continue;
    const prev = out[e.name];
    switch (e.action) {
      case 'overwrite':
        out[e.name] = e.value;
        break;
      case 'overwrite_if_exists':
        if (prev !== undefined) out[e.name] = e.value;
        break;
      case 'add_if_absent':
        if (prev === undefined) out[e.name] = e.value;
        break;
      case 'append':
        out[e.name] = prev === undefined ? e.value : Array.isArray(prev) ? [...prev, e.value] : [prev, e.value];
        break;
    }
  }
  return out;
}
