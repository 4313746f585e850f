import { createRequire } from 'node:module';
import { dirname, isAbsolute, join } from 'node:path';
import { existsSync } from 'node:fs';
import protobuf from 'protobufjs';
import * as protoLoader from '@grpc/proto-loader';
import * as grpc from '@grpc/grpc-js';

// The one place Envoy's (and gRPC's) protos are loaded: xDS (ADS and its resources), ext_authz, and
// whatever else speaks Envoy's API. The protos come from @grpc/grpc-js-xds, which bundles envoy-api,
// xds, googleapis and protoc-gen-validate (proto/README.md pins the list). They are parsed once, on
// first use, into one protobufjs Root: it decodes and encodes `Any` resources by type URL, and the
// same Root gives grpc-js its service definitions (no second parse).
//
// Field names keep Envoy's snake_case (keepCase), enums are strings, 64-bit integers strings, and
// defaults are filled in, so a decoded resource reads like Envoy's documentation.

const require = createRequire(import.meta.url);
const XDS_DEPS = join(dirname(require.resolve('@grpc/grpc-js-xds/package.json')), 'deps');
const INCLUDE_DIRS = ['envoy-api', 'xds', 'googleapis', 'protoc-gen-validate'].map((d) => join(XDS_DEPS, d));

/** The protos loaded, by path under the include dirs (the pinned list in proto/README.md). */
export const PROTO_FILES = [
  'envoy/service/discovery/v3/ads.proto',
  'envoy/service/discovery/v3/discovery.proto',
  'envoy/config/route/v3/route.proto',
  'envoy/config/cluster/v3/cluster.proto',
  'envoy/config/endpoint/v3/endpoint.proto',
  'envoy/config/listener/v3/listener.proto',
  'envoy/extensions/transport_sockets/tls/v3/tls.proto',
  'envoy/extensions/upstreams/http/v3/http_protocol_options.proto',
  'envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager.proto',
  'envoy/extensions/filters/http/router/v3/router.proto',
  'envoy/service/auth/v3/external_auth.proto',
] as const;

export const TYPE_URL_PREFIX = 'type.googleapis.com/';

export const TypeUrls = {
  routeConfiguration: 'type.googleapis.com/envoy.config.route.v3.RouteConfiguration',
  cluster: 'type.googleapis.com/envoy.config.cluster.v3.Cluster',
  clusterLoadAssignment: 'type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment',
  listener: 'type.googleapis.com/envoy.config.listener.v3.Listener',
  upstreamTlsContext: 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext',
  httpProtocolOptions: 'type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions',
  struct: 'type.googleapis.com/google.protobuf.Struct',
} as const;

/** How decoded messages read: Envoy's field names, string enums and longs, defaults, oneof names. */
export const TO_OBJECT: protobuf.IConversionOptions = { longs: String, enums: String, defaults: true, oneofs: true };

const LOADER_OPTIONS: protoLoader.Options = { keepCase: true, longs: String, enums: String, defaults: true, oneofs: true };

// Well-known protos protobufjs does not bundle by default (Envoy's annotations import descriptor.proto).
for (const name of ['descriptor', 'api', 'source_context', 'type']) {
  protobuf.common(name, require(`protobufjs/google/protobuf/${name}.json`).nested.google.nested.protobuf.nested);
}

let root: protobuf.Root | null = null;
let grpcObject: grpc.GrpcObject | null = null;

/** The protobufjs Root with every pinned proto (parsed on first call, then cached). */
export function protoRoot(): protobuf.Root {
  if (root !== null) return root;
  const r = new protobuf.Root();
  r.resolvePath = (origin, target) => {
    if (isAbsolute(target)) return target;
    for (const dir of INCLUDE_DIRS) {
      const candidate = join(dir, target);
      if (existsSync(candidate)) return candidate;
    }
    // protobufjs ships google/protobuf/*.proto as built-in "common" types
    return protobuf.util.path.resolve(origin, target);
  };
  r.loadSync([...PROTO_FILES], { keepCase: true });
  r.resolveAll();
  root = r;
  return r;
}

/** grpc-js service constructors and message definitions built from the same Root. */
export function grpcServices(): grpc.GrpcObject {
  if (grpcObject !== null) return grpcObject;
  const def = protoLoader.fromJSON(protoRoot().toJSON(), LOADER_OPTIONS);
  grpcObject = grpc.loadPackageDefinition(def);
  return grpcObject;
}

/** The grpc-js client constructor or service definition at `path` (e.g. 'envoy.service.auth.v3.Authorization'). */
export function grpcService(path: string): grpc.ServiceClientConstructor {
  let node: unknown = grpcServices();
  for (const part of path.split('.')) node = (node as Record<string, unknown>)?.[part];
  if (typeof node !== 'function' || !('service' in node)) throw new Error(`no gRPC service ${path} in the loaded protos`);
  return node as grpc.ServiceClientConstructor;
}

/** A message type by its full name ('envoy.config.route.v3.RouteConfiguration'). */
export function messageType(fullName: string): protobuf.Type {
  return protoRoot().lookupType(fullName);
}

export interface AnyMessage {
  type_url: string;
  value: Uint8Array;
}

/** Decodes a `google.protobuf.Any` into a plain object (Envoy field names); throws on an unknown type or bad bytes. */
export function unpackAny<T = Record<string, unknown>>(any: AnyMessage): T {
  const name = any.type_url.slice(any.type_url.lastIndexOf('/') + 1);
  const type = messageType(name);
  return type.toObject(type.decode(any.value), TO_OBJECT) as T;
}

/** Encodes a plain object (Envoy field names) as a `google.protobuf.Any` of `typeUrl`; throws if it does not fit the type. */
export function packAny(typeUrl: string, value: Record<string, unknown>): AnyMessage {
  const type = messageType(typeUrl.slice(typeUrl.lastIndexOf('/') + 1));
  // fromObject first: it takes the JSON forms (enum names, string longs) that verify() alone refuses.
  const message = type.fromObject(value);
  const problem = type.verify(message);
  if (problem) throw new Error(`${type.name}: ${problem}`);
  return { type_url: typeUrl, value: type.encode(message).finish() };
}
