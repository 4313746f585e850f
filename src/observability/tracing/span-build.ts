import { SpanKind, SpanStatusCode, TraceFlags, createTraceState, type Attributes, type SpanContext, type SpanStatus } from '@opentelemetry/api';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { hrTimeDuration, millisToHrTime, type InstrumentationScope } from '@opentelemetry/core';
import { JsonTraceSerializer } from '@opentelemetry/otlp-transformer';
import {
  ATTR_CLIENT_ADDRESS,
  ATTR_ERROR_TYPE,
  ATTR_HTTP_REQUEST_METHOD,
  ATTR_HTTP_REQUEST_RESEND_COUNT,
  ATTR_HTTP_RESPONSE_STATUS_CODE,
  ATTR_NETWORK_PROTOCOL_VERSION,
  ATTR_SERVER_ADDRESS,
  ATTR_SERVER_PORT,
  ATTR_SERVICE_NAME,
  ATTR_SERVICE_VERSION,
  ATTR_URL_FULL,
  ATTR_URL_PATH,
  ATTR_URL_SCHEME,
  ATTR_USER_AGENT_ORIGINAL,
} from '@opentelemetry/semantic-conventions';
import { hostWithoutPort } from '../../router/host-table.ts';
import { VERSION } from '../../version.ts';
import type { ClientSpanRecord, ServerSpanRecord, SpanRecord } from './span-record.ts';

// Span records (span-record.ts) → the SDK's ReadableSpans → OTLP/HTTP JSON, with OpenTelemetry's own
// serializer, so the collector sees what @opentelemetry/exporter-trace-otlp-http would send. Runs in
// the export worker (in-process only if that worker cannot run). Attributes follow the HTTP semantic
// conventions; the query string is never recorded (it may carry tokens), nor any header but
// User-Agent.

export const ATTR_GATEHOUSE_ROUTE = 'gatehouse.route';
export const ATTR_GATEHOUSE_VIRTUAL_HOST = 'gatehouse.virtual_host';
export const ATTR_GATEHOUSE_CLUSTER = 'gatehouse.cluster';
export const ATTR_GATEHOUSE_REQUEST_ID = 'gatehouse.request_id';
/** Envoy-style response flags (the access log's `flags`, e.g. "UF,URX"); absent when there are none. */
export const ATTR_GATEHOUSE_RESPONSE_FLAGS = 'gatehouse.response_flags';

const resource = resourceFromAttributes({ [ATTR_SERVICE_NAME]: 'gatehouse', [ATTR_SERVICE_VERSION]: VERSION });
const scope: InstrumentationScope = { name: 'gatehouse', version: VERSION };
const UNSET: SpanStatus = { code: SpanStatusCode.UNSET };
const ERROR: SpanStatus = { code: SpanStatusCode.ERROR };

function portOf(authority: string): number | undefined {
  const colon = authority.lastIndexOf(':');
  if (colon === -1 || authority.indexOf(']', colon) !== -1) return undefined;
  const n = Number(authority.slice(colon + 1));
  return Number.isInteger(n) && n > 0 ? n : undefined;
}

function serverAttributes(r: ServerSpanRecord): { attributes: Attributes; error: boolean } {
  const a: Attributes = {
    [ATTR_HTTP_REQUEST_METHOD]: r.method,
    [ATTR_URL_SCHEME]: 'https',
    [ATTR_NETWORK_PROTOCOL_VERSION]: r.protocol,
  };
  if (r.userAgent !== null) a[ATTR_USER_AGENT_ORIGINAL] = r.userAgent;
  if (r.route !== null) {
    a[ATTR_GATEHOUSE_ROUTE] = r.route;
    if (r.virtualHost !== null) a[ATTR_GATEHOUSE_VIRTUAL_HOST] = r.virtualHost;
  }
  if (r.path) a[ATTR_URL_PATH] = r.path;
  if (r.cluster !== null) a[ATTR_GATEHOUSE_CLUSTER] = r.cluster;
  if (r.clientIp) a[ATTR_CLIENT_ADDRESS] = r.clientIp;
  if (r.authority) {
    a[ATTR_SERVER_ADDRESS] = hostWithoutPort(r.authority);
    const port = portOf(r.authority);
    if (port !== undefined) a[ATTR_SERVER_PORT] = port;
  }
  a[ATTR_GATEHOUSE_REQUEST_ID] = r.requestId;
  if (r.flags !== '-') a[ATTR_GATEHOUSE_RESPONSE_FLAGS] = r.flags;
  if (r.status > 0) a[ATTR_HTTP_RESPONSE_STATUS_CODE] = r.status;
  // Server spans: only 5xx (or no answer) is the server's error; a 4xx is the client's.
  if (r.errorCode !== null) a[ATTR_ERROR_TYPE] = r.errorCode;
  const error = r.status >= 500 || r.status === 0;
  if (error && r.errorCode === null) a[ATTR_ERROR_TYPE] = r.status > 0 ? String(r.status) : '_OTHER';
  return { attributes: a, error };
}

function clientAttributes(r: ClientSpanRecord): { attributes: Attributes; error: boolean } {
  const a: Attributes = {
    [ATTR_HTTP_REQUEST_METHOD]: r.method,
    [ATTR_SERVER_ADDRESS]: r.host,
    [ATTR_SERVER_PORT]: r.port,
    [ATTR_URL_FULL]: r.url,
    [ATTR_GATEHOUSE_CLUSTER]: r.cluster,
  };
  if (r.resendCount > 0) a[ATTR_HTTP_REQUEST_RESEND_COUNT] = r.resendCount;
  if (r.status > 0) a[ATTR_HTTP_RESPONSE_STATUS_CODE] = r.status;
  // Client spans: any 4xx/5xx, or no answer at all, is an error (HTTP semantic conventions).
  const error = r.errorCode !== null || r.status >= 400 || r.status === 0;
  if (error) a[ATTR_ERROR_TYPE] = r.errorCode ?? (r.status > 0 ? String(r.status) : '_OTHER');
  return { attributes: a, error };
}

/** One record as the SDK's finished span. */
export function toReadableSpan(r: SpanRecord): ReadableSpan {
  const traceState = r.traceState !== null ? createTraceState(r.traceState) : undefined;
  const own: SpanContext = { traceId: r.traceId, spanId: r.spanId, traceFlags: TraceFlags.SAMPLED, ...(traceState ? { traceState } : {}) };
  const parent: SpanContext | undefined =
    r.parentSpanId === null
      ? undefined
      : { traceId: r.traceId, spanId: r.parentSpanId, traceFlags: TraceFlags.SAMPLED, isRemote: r.kind === 'server', ...(traceState ? { traceState } : {}) };
  const { attributes, error } = r.kind === 'server' ? serverAttributes(r) : clientAttributes(r);
  const startTime = millisToHrTime(r.startMs);
  const endTime = millisToHrTime(r.endMs);
  return {
    // A routed request's server span is named "METHOD route" (low cardinality); a client span, by its method.
    name: r.kind === 'server' && r.route !== null ? `${r.method} ${r.route}` : r.method,
    kind: r.kind === 'server' ? SpanKind.SERVER : SpanKind.CLIENT,
    spanContext: () => own,
    ...(parent !== undefined ? { parentSpanContext: parent } : {}),
    startTime,
    endTime,
    status: error ? ERROR : UNSET,
    attributes,
    links: [],
    events: [],
    duration: hrTimeDuration(startTime, endTime),
    ended: true,
    resource,
    instrumentationScope: scope,
    droppedAttributesCount: 0,
    droppedEventsCount: 0,
    droppedLinksCount: 0,
  };
}

/** A batch of records as the body of one OTLP/HTTP JSON export, or undefined when it cannot be encoded. */
export function encodeSpans(records: readonly SpanRecord[]): Uint8Array | undefined {
  return JsonTraceSerializer.serializeRequest(records.map(toReadableSpan));
}
