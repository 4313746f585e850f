import protobuf from 'protobufjs';
import { messageType, packAny, type AnyMessage } from '../../src/grpc/protos.ts';

// Envoy resources written the way Envoy's docs and YAML configs write them (proto3 JSON mapping:
// durations as "5s", wrappers as plain values, Any as { "@type": …, …fields }, Struct as a plain
// object) → an Any that the ADS server sends. protobufjs' fromObject does not do the proto3 JSON
// mapping, so this walks the message type and converts those well-known types on the way.

/** `resource` (Envoy JSON, snake_case or camelCase keys) as an Any of `typeUrl`. */
export function envoyAny(typeUrl: string, resource: Record<string, unknown>): AnyMessage {
  if (typeUrl.endsWith('/google.protobuf.Struct')) return packAny(typeUrl, struct(resource));
  const type = messageType(typeUrl.slice(typeUrl.lastIndexOf('/') + 1));
  return packAny(typeUrl, convert(type, resource));
}

function convert(type: protobuf.Type, obj: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(obj)) {
    const field = type.fields[key] ?? type.fields[key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`)];
    if (!field) throw new Error(`${type.fullName.slice(1)} has no field ${key}`);
    field.resolve();
    if (field.map) out[field.name] = Object.fromEntries(Object.entries(v as object).map(([k, x]) => [k, value(field, x)]));
    else if (field.repeated) out[field.name] = (v as unknown[]).map((x) => value(field, x));
    else out[field.name] = value(field, v);
  }
  return out;
}

const WRAPPERS = new Set(['DoubleValue', 'FloatValue', 'Int64Value', 'UInt64Value', 'Int32Value', 'UInt32Value', 'BoolValue', 'StringValue', 'BytesValue'].map((n) => `.google.protobuf.${n}`));

function value(field: protobuf.Field, v: unknown): unknown {
  const t = field.resolvedType;
  if (!(t instanceof protobuf.Type)) return v;
  const name = t.fullName;
  if (name === '.google.protobuf.Duration' && typeof v === 'string') return duration(v);
  if (WRAPPERS.has(name) && (typeof v !== 'object' || v === null)) return { value: v };
  if (name === '.google.protobuf.Struct') return struct(v as Record<string, unknown>);
  if (name === '.google.protobuf.Any' && typeof v === 'object' && v !== null && '@type' in v) {
    const { '@type': url, ...rest } = v as Record<string, unknown>;
    return envoyAny(String(url), rest);
  }
  if (typeof v === 'object' && v !== null && !Array.isArray(v)) return convert(t, v as Record<string, unknown>);
  return v;
}

function duration(s: string): { seconds: number; nanos: number } {
  const m = /^(\d+)(?:\.(\d{1,9}))?s$/.exec(s);
  if (!m) throw new Error(`bad duration ${s} (Envoy JSON: "1.5s")`);
  return { seconds: Number(m[1]), nanos: Number((m[2] ?? '').padEnd(9, '0')) };
}

/** A plain object as google.protobuf.Struct (protobufjs' bundled Struct has camelCase field names). */
function struct(o: Record<string, unknown>): Record<string, unknown> {
  return { fields: Object.fromEntries(Object.entries(o).map(([k, x]) => [k, structValue(x)])) };
}

function structValue(x: unknown): Record<string, unknown> {
  if (x === null) return { nullValue: 0 };
  if (typeof x === 'string') return { stringValue: x };
  if (typeof x === 'number') return { numberValue: x };
  if (typeof x === 'boolean') return { boolValue: x };
  if (Array.isArray(x)) return { listValue: { values: x.map(structValue) } };
  return { structValue: struct(x as Record<string, unknown>) };
}
