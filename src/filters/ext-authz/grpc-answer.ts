import {
  ALLOW_UNCHANGED,
  CheckFailure,
  denialHeaders,
  denialStatus,
  headerName,
  headerValue,
  type AppendAction,
  type Decision,
  type HeaderEdit,
} from './decision.ts';

// envoy.service.auth.v3.CheckResponse (a decoded protobufjs message: Envoy's field names, enums as
// numbers, unset messages null) → Decision, with Envoy's semantics:
//  - status.code 0 (or no status at all) allows; any other code denies;
//  - OK: ok_response.headers toward the upstream, headers_to_remove after them, response_headers_to_add
//    onto the client's response;
//  - denied: denied_response.status (403 when unset), headers and body to the client;
//  - HeaderValueOption: a set `append` wins (true: append, false: overwrite), else `append_action`.
//    The zero `append_action` (APPEND_IF_EXISTS_OR_ADD) cannot be told from "not set" in proto3; for
//    ext_authz the API documents `append` as defaulting to false, so it means overwrite here: a
//    service that re-sets a header a client may have spoofed replaces it (the safe reading).

interface HeaderValueOption {
  header?: { key?: unknown; value?: unknown; raw_value?: Uint8Array } | null;
  append?: { value?: unknown } | null;
  append_action?: unknown;
}

const APPEND_ACTIONS: Record<number, AppendAction> = {
  0: 'overwrite', // APPEND_IF_EXISTS_OR_ADD, the proto3 default: see above
  1: 'add_if_absent', // ADD_IF_ABSENT
  2: 'overwrite', // OVERWRITE_IF_EXISTS_OR_ADD
  3: 'overwrite_if_exists', // OVERWRITE_IF_EXISTS
};

function edit(o: HeaderValueOption): HeaderEdit {
  const h = o?.header;
  if (!h) throw new CheckFailure('invalid_answer', 'header option without a header');
  const name = headerName(h.key);
  // Envoy reads raw_value when value is empty.
  const raw = h.raw_value;
  const value = headerValue(h.value === '' && raw instanceof Uint8Array && raw.length > 0 ? Buffer.from(raw).toString('latin1') : h.value);
  let action: AppendAction | undefined;
  if (o.append !== null && o.append !== undefined) action = o.append.value === true ? 'append' : 'overwrite';
  else action = APPEND_ACTIONS[o.append_action as number];
  if (action === undefined) throw new CheckFailure('invalid_answer', 'unknown append_action');
  return { name, value, action };
}

function edits(list: unknown): HeaderEdit[] {
  if (!Array.isArray(list)) return [];
  return list.map((o) => edit(o as HeaderValueOption));
}

export function decisionFromCheckResponse(msg: unknown): Decision {
  if (typeof msg !== 'object' || msg === null) throw new CheckFailure('invalid_answer', 'empty answer');
  const r = msg as {
    status?: { code?: unknown } | null;
    ok_response?: { headers?: unknown; headers_to_remove?: unknown; response_headers_to_add?: unknown } | null;
    denied_response?: { status?: { code?: unknown } | null; headers?: unknown; body?: unknown } | null;
  };
  const code = r.status?.code ?? 0;
  if (typeof code !== 'number') throw new CheckFailure('invalid_answer', 'status code is not a number');
  if (code === 0) {
    const ok = r.ok_response;
    if (!ok) return ALLOW_UNCHANGED;
    const remove = Array.isArray(ok.headers_to_remove) ? ok.headers_to_remove.map(headerName) : [];
    return { kind: 'allow', upstream: edits(ok.headers), remove, response: edits(ok.response_headers_to_add) };
  }
  const denied = r.denied_response;
  if (!denied) return { kind: 'deny', status: 403, headers: {}, body: Buffer.alloc(0) };
  const statusCode = denied.status?.code ?? 0;
  if (typeof statusCode !== 'number') throw new CheckFailure('invalid_answer', 'denied status is not a number');
  const body = typeof denied.body === 'string' ? Buffer.from(denied.body, 'utf8') : Buffer.alloc(0);
  return { kind: 'deny', status: denialStatus(statusCode), headers: denialHeaders(edits(denied.headers)), body };
}
