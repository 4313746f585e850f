import type { HeaderMutationConfig } from '../config/schema.ts';
import type { Exchange } from '../exchange.ts';

// A route's `requestHeaders` / `responseHeaders` (`set`, `add`, `remove`), compiled once per
// generation. Values may carry variables, Envoy-style, precompiled into segments:
//   %CLIENT_IP%  %REQUEST_ID%  %ROUTE_NAME%  %VIRTUAL_HOST%  %HOST%  %UPSTREAM_CLUSTER%   and %% for a '%'.
// `set` replaces every value of the header, `add` appends one, `remove` drops it. Order: remove, then
// set, then add. Names are compared case-insensitively.

type Segment = string | ((ex: Exchange) => string);
export type HeaderValue = string | ((ex: Exchange) => string);

const VARIABLES: Record<string, (ex: Exchange) => string> = {
  CLIENT_IP: (ex) => ex.clientIp,
  REQUEST_ID: (ex) => ex.requestId,
  ROUTE_NAME: (ex) => ex.route?.name ?? '',
  VIRTUAL_HOST: (ex) => ex.route?.virtualHost ?? '',
  HOST: (ex) => ex.authority,
  UPSTREAM_CLUSTER: (ex) => ex.cluster?.name ?? '',
};

export const HEADER_VARIABLES = Object.keys(VARIABLES);

/** Headers the gateway owns toward the upstream (hop-by-hop, framing, forwarding): not editable here. */
const RESERVED_REQUEST = new Set([
  'host', 'connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'te', 'trailer',
  'content-length', 'expect', 'http2-settings', 'x-forwarded-for', 'x-forwarded-proto', 'x-forwarded-host', 'x-request-id',
]);
const RESERVED_RESPONSE = new Set([
  'connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'te', 'trailer', 'content-length', 'x-request-id',
]);

/** Compiles a value template; throws an Error whose message is user-facing on a bad variable. */
export function compileValue(template: string): HeaderValue {
  if (template.indexOf('%') === -1) return template;
  const segs: Segment[] = [];
  let lit = '';
  let i = 0;
  while (i < template.length) {
    const at = template.indexOf('%', i);
    if (at === -1) {
      lit += template.slice(i);
      break;
    }
    lit += template.slice(i, at);
    if (template[at + 1] === '%') {
      lit += '%';
      i = at + 2;
      continue;
    }
    const end = template.indexOf('%', at + 1);
    const name = end === -1 ? '' : template.slice(at + 1, end);
    const fn = VARIABLES[name];
    if (end === -1 || !Object.hasOwn(VARIABLES, name)) {
      throw new Error(
        `unknown variable ${end === -1 ? 'after %' : `%${name}%`} (known: ${HEADER_VARIABLES.map((v) => `%${v}%`).join(', ')}; %% for a literal %)`,
      );
    }
    if (lit !== '') segs.push(lit);
    lit = '';
    segs.push(fn);
    i = end + 1;
  }
  if (lit !== '') segs.push(lit);
  if (segs.length === 1) return segs[0];
  return (ex) => {
    let s = '';
    for (let k = 0; k < segs.length; k++) {
      const seg = segs[k];
      s += typeof seg === 'string' ? seg : seg(ex);
    }
    return s;
  };
}

export function valueOf(v: HeaderValue, ex: Exchange): string {
  return typeof v === 'string' ? v : v(ex);
}

export interface HeaderMutation {
  /** Lower-case names whose incoming values are dropped: `remove` plus every `set` name. */
  readonly drop: ReadonlySet<string>;
  /** Flat [name, value, …]: the `set` values followed by the `add` values. */
  readonly put: ReadonlyArray<string | HeaderValue>;
}

export interface MutationError {
  readonly path: string;
  readonly message: string;
}

export function compileHeaderMutation(
  cfg: HeaderMutationConfig | undefined,
  path: string,
  side: 'request' | 'response',
  errors: MutationError[],
): HeaderMutation | null {
  if (!cfg) return null;
  // Routes next to each other often carry the same edits (a control plane tags every route alike):
  // they share one compiled mutation (it is immutable), so a large table holds one, not thousands.
  const key = side + JSON.stringify(cfg);
  if (key === lastKey) return lastMutation;
  const before = errors.length;
  const mutation = compileMutation(cfg, path, side, errors);
  if (errors.length === before) {
    lastKey = key;
    lastMutation = mutation;
  }
  return mutation;
}

let lastKey: string | null = null;
let lastMutation: HeaderMutation | null = null;

function compileMutation(cfg: HeaderMutationConfig, path: string, side: 'request' | 'response', errors: MutationError[]): HeaderMutation | null {
  // Plain loops, no per-call closures or entry arrays: a 10,000-route table compiles one per route.
  const reserved = side === 'request' ? RESERVED_REQUEST : RESERVED_RESPONSE;
  const drop = new Set<string>();
  const put: Array<string | HeaderValue> = [];
  for (let i = 0; i < cfg.remove.length; i++) {
    const n = editable(cfg.remove[i]!, reserved, `${path}.remove[${i}]`, errors);
    if (n !== null) drop.add(n);
  }
  addValues(cfg.set, 'set', path, reserved, errors, put, drop);
  addValues(cfg.add, 'add', path, reserved, errors, put, null);
  if (drop.size === 0 && put.length === 0) return null;
  return Object.freeze({ drop, put: Object.freeze(put.slice()) }); // slice: no spare room kept
}

/** The lower-case name, or null (and an error) for a header the gateway manages. */
function editable(name: string, reserved: ReadonlySet<string>, path: string, errors: MutationError[]): string | null {
  const n = name.toLowerCase();
  if (!reserved.has(n)) return n;
  const hint = n === 'host' ? '; use hostRewrite' : '';
  errors.push({ path, message: `header "${n}" is managed by the gateway and cannot be changed here${hint}` });
  return null;
}

/** `set` or `add` values into `put` (a `set` name also into `drop`). */
function addValues(
  values: Readonly<Record<string, string>>,
  key: 'set' | 'add',
  path: string,
  reserved: ReadonlySet<string>,
  errors: MutationError[],
  put: Array<string | HeaderValue>,
  drop: Set<string> | null,
): void {
  for (const name in values) {
    const n = editable(name, reserved, `${path}.${key}.${name}`, errors);
    if (n === null) continue;
    try {
      put.push(n, compileValue(values[name]!));
    } catch (err) {
      errors.push({ path: `${path}.${key}.${name}`, message: (err as Error).message });
      continue;
    }
    drop?.add(n);
  }
}

/** Applies a response mutation to a (mutable, freshly parsed) upstream response header object. */
export function mutateResponseHeaders(m: HeaderMutation, headers: Record<string, string | string[] | undefined>, ex: Exchange): void {
  for (const n of m.drop) if (headers[n] !== undefined) delete headers[n];
  const put = m.put;
  for (let i = 0; i < put.length; i += 2) {
    const name = put[i] as string;
    const value = valueOf(put[i + 1], ex);
    const prev = headers[name];
    if (prev === undefined) headers[name] = value;
    else if (Array.isArray(prev)) prev.push(value);
    else headers[name] = [prev, value];
  }
}
