import { compileHeaderMutation } from '../../proxy/header-mutations.ts';
import { fail, isObj, join, NOT_SUPPORTED, refuseOthers, wrapped, type Errors, type Obj } from './fields.ts';

// Envoy's header edits (HeaderValueOption lists and *_to_remove lists, on a route, a virtual host and
// the RouteConfiguration) → the config's `{ set, add, remove }`. Envoy's value commands are mapped to
// our variables where one exists; any other `%COMMAND%` is refused.

export interface HeaderEditsInput {
  set: Record<string, string>;
  add: Record<string, string>;
  remove: string[];
}

export function emptyEdits(): HeaderEditsInput {
  return { set: {}, add: {}, remove: [] };
}

/** Envoy substitution commands we can express (the rest is refused). */
const COMMANDS: Record<string, string> = {
  DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT: '%CLIENT_IP%',
  'REQ(X-REQUEST-ID)': '%REQUEST_ID%',
  'REQ(:AUTHORITY)': '%HOST%',
  'REQ(HOST)': '%HOST%',
  ROUTE_NAME: '%ROUTE_NAME%',
  UPSTREAM_CLUSTER: '%UPSTREAM_CLUSTER%',
};

/** An Envoy header value → our template (`%%` stays a literal `%`), or a NACK. */
export function headerValue(v: string, path: string, errors: Errors): string | null {
  let out = '';
  let i = 0;
  while (i < v.length) {
    const at = v.indexOf('%', i);
    if (at === -1) {
      out += v.slice(i);
      break;
    }
    out += v.slice(i, at);
    if (v[at + 1] === '%') {
      out += '%%';
      i = at + 2;
      continue;
    }
    const end = v.indexOf('%', at + 1);
    const cmd = end === -1 ? '' : v.slice(at + 1, end);
    const ours = COMMANDS[cmd.toUpperCase()];
    if (ours === undefined) return fail(errors, path, `value command %${cmd}% is not supported (supported: ${Object.keys(COMMANDS).map((c) => `%${c}%`).join(', ')})`);
    out += ours;
    i = end + 1;
  }
  return out;
}

/**
 * Adds one level's edits to `into`. Levels are applied most specific first (route, virtual host,
 * RouteConfiguration): with Envoy's default a later level's overwrite wins, so `overwriteWins`
 * is true; with most_specific_header_mutations_wins the earlier level keeps its value.
 */
export function addEdits(
  into: HeaderEditsInput,
  add: unknown,
  remove: unknown,
  path: { add: string; remove: string },
  errors: Errors,
  overwriteWins: boolean,
): void {
  for (const [i, opt] of (Array.isArray(add) ? add : []).entries()) {
    const p = join(path.add, i);
    if (!isObj(opt)) continue;
    refuseOthers(opt, 'envoy.config.core.v3.HeaderValueOption', ['header', 'append', 'append_action', 'keep_empty_value'], [], p, errors);
    const h = isObj(opt.header) ? opt.header : {};
    const name = String(h.key ?? '').toLowerCase();
    let raw = String(h.value ?? '');
    if (raw === '' && h.raw_value instanceof Uint8Array && h.raw_value.length > 0) raw = Buffer.from(h.raw_value).toString('utf8');
    if (raw === '' && opt.keep_empty_value !== true) continue; // Envoy drops empty values unless told to keep them
    const value = headerValue(raw, join(join(p, 'header'), 'value'), errors);
    if (value === null) continue;
    const mode = appendMode(opt, p, errors);
    if (mode === null) continue;
    if (mode === 'set') {
      if (overwriteWins || !(name in into.set)) into.set[name] = value;
      delete into.add[name];
    } else if (name in into.add || name in into.set) {
      fail(errors, p, `header ${name} is edited at more than one level; gatehouse keeps one added value per header`);
    } else into.add[name] = value;
  }
  for (const [i, n] of (Array.isArray(remove) ? remove : []).entries()) {
    const name = String(n).toLowerCase();
    if (name === '') fail(errors, join(path.remove, i), 'empty header name');
    else if (!into.remove.includes(name)) into.remove.push(name);
  }
}

function appendMode(opt: Obj, path: string, errors: Errors): 'set' | 'add' | null {
  const append = wrapped<boolean>(opt.append);
  if (append !== undefined) return append ? 'add' : 'set';
  switch (opt.append_action) {
    case undefined:
    case 'APPEND_IF_EXISTS_OR_ADD':
      return 'add';
    case 'OVERWRITE_IF_EXISTS_OR_ADD':
      return 'set';
    default:
      return fail(errors, join(path, 'append_action'), `${String(opt.append_action)} is ${NOT_SUPPORTED}`);
  }
}

/** The edits in the config's shape (undefined when there are none), checked like compile() will check them. */
export function finishEdits(e: HeaderEditsInput, side: 'request' | 'response', path: string, errors: Errors): HeaderEditsInput | undefined {
  if (Object.keys(e.set).length === 0 && Object.keys(e.add).length === 0 && e.remove.length === 0) return undefined;
  const problems: Array<{ path: string; message: string }> = [];
  compileHeaderMutation(e, path, side, problems);
  errors.push(...problems);
  return e;
}
