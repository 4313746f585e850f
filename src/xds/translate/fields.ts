import protobuf from 'protobufjs';
import { messageType } from '../../grpc/protos.ts';

// Shared pieces of the translators: the error list, Envoy's well-known value shapes (Duration,
// wrappers), and the check that turns "a field we do not translate was set" into a NACK.
//
// Resources arrive decoded by src/grpc/protos.ts: Envoy's field names, enums as names, 64-bit numbers as
// strings, every field present (unset messages are null, unset scalars their proto3 default), and for
// each oneof a property naming the member that is set. So "set" means "different from its default".

/** A problem with one field of a resource: `path` uses Envoy's field names, e.g. `virtual_hosts[0].routes[2].match.safe_regex`. */
export interface FieldError {
  readonly path: string;
  readonly message: string;
}

export type Errors = FieldError[];

/** Records a problem (one per path: the first one found says it) and returns null. */
export function fail(errors: Errors, path: string, message: string): null {
  if (!errors.some((e) => e.path === path)) errors.push({ path, message });
  return null;
}

export const NOT_SUPPORTED = 'not supported by gatehouse';

export type Obj = Record<string, unknown>;

export function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Uint8Array);
}

/** google.protobuf.Duration → milliseconds, or null when unset. */
export function durationMs(d: unknown): number | null {
  if (!isObj(d)) return null;
  return Number(d.seconds ?? 0) * 1000 + Number(d.nanos ?? 0) / 1e6;
}

/** Milliseconds in the config's duration grammar (`1500ms`). */
export function durationText(ms: number): string {
  return `${Math.round(ms * 1000) / 1000}ms`;
}

/** A wrapper (UInt32Value, BoolValue…) → its value, or undefined when unset. */
export function wrapped<T>(w: unknown): T | undefined {
  return isObj(w) ? (w.value as T) : undefined;
}

const defaultEnumCache = new Map<string, Map<string, string>>();

/** Default enum value names of a message type's enum fields (the name of value 0). */
function enumDefaults(typeName: string): Map<string, string> {
  let m = defaultEnumCache.get(typeName);
  if (m) return m;
  m = new Map();
  const type = messageType(typeName);
  for (const f of type.fieldsArray) {
    f.resolve();
    if (f.resolvedType instanceof protobuf.Enum && !f.repeated) m.set(f.name, f.resolvedType.valuesById[0] ?? '');
  }
  defaultEnumCache.set(typeName, m);
  return m;
}

const oneofCache = new Map<string, Set<string>>();

function oneofNames(typeName: string): Set<string> {
  let s = oneofCache.get(typeName);
  if (!s) {
    s = new Set(messageType(typeName).oneofsArray.map((o) => o.name));
    oneofCache.set(typeName, s);
  }
  return s;
}

/** True when a decoded field holds its default (i.e. the sender did not set it). */
export function isUnset(v: unknown, enumDefault?: string): boolean {
  if (v === null || v === undefined || v === '' || v === false || v === 0 || v === '0') return true;
  if (enumDefault !== undefined && v === enumDefault) return true;
  if (Array.isArray(v)) return v.length === 0;
  if (v instanceof Uint8Array) return v.length === 0;
  if (isObj(v)) return Object.keys(v).length === 0;
  return false;
}

/**
 * Every field of `obj` (a decoded `typeName`) that is set but not in `handled` (translated) or
 * `ignored` (harmless: it does not change how a request is routed or forwarded) becomes
 * `<path>.<field>: not supported by gatehouse`. A field we have never heard of (a newer Envoy) is
 * refused the same way, so nothing that changes behaviour is dropped silently.
 */
export function refuseOthers(obj: Obj, typeName: string, handled: readonly string[], ignored: readonly string[], path: string, errors: Errors): void {
  const enums = enumDefaults(typeName);
  const oneofs = oneofNames(typeName);
  for (const [k, v] of Object.entries(obj)) {
    if (handled.includes(k) || ignored.includes(k) || oneofs.has(k)) continue;
    if (isUnset(v, enums.get(k))) continue;
    fail(errors, join(path, k), NOT_SUPPORTED);
  }
}

export function join(path: string, field: string | number): string {
  if (typeof field === 'number') return `${path}[${field}]`;
  return path === '' ? field : `${path}.${field}`;
}

/** google.protobuf.Struct → a plain object of its string/number/bool values (nested structs and lists as JS values). */
export function structToPlain(s: unknown): Obj {
  const out: Obj = {};
  if (!isObj(s) || !isObj(s.fields)) return out;
  for (const [k, v] of Object.entries(s.fields)) out[k] = valueToPlain(v);
  return out;
}

function valueToPlain(v: unknown): unknown {
  if (!isObj(v)) return null;
  // protobufjs's bundled google/protobuf/struct.proto has camelCase field names (stringValue…);
  // a Struct decoded through another loader may have snake_case ones: read either.
  const kind = String(v.kind ?? '').replace(/_([a-z])/g, (_m, c: string) => c.toUpperCase());
  const field = (camel: string) => v[camel] ?? v[camel.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`)];
  switch (kind) {
    case 'stringValue':
    case 'numberValue':
    case 'boolValue':
      return field(kind);
    case 'structValue':
      return structToPlain(field(kind));
    case 'listValue': {
      const l = field(kind);
      return isObj(l) && Array.isArray(l.values) ? l.values.map(valueToPlain) : [];
    }
    default:
      return null;
  }
}
