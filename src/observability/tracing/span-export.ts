import { SpanKind, SpanStatusCode, TraceFlags, createTraceState, type Attributes, type SpanContext, type SpanStatus, type TraceState } from '@opentelemetry/api';
import { BatchSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { resourceFromAttributes, type Resource } from '@opentelemetry/resources';
import { hrTimeDuration, millisToHrTime, type InstrumentationScope } from '@opentelemetry/core';
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
import type { TracingConfig } from '../../config/schema.ts';
import type { Exchange } from '../../exchange.ts';
import { hostWithoutPort } from '../../router/host-table.ts';
import { VERSION } from '../../version.ts';
import { formatTraceparent, newSpanId, newTraceId, type RemoteParent } from '../trace-context.ts';
import type { RequestSpan, TrySpan, UpstreamTarget } from './request-span.ts';
import { OffThreadOtlpExporter } from './off-thread-exporter.ts';
import { responseFlags } from '../response-flags.ts';

// Span export with the OpenTelemetry SDK's batching and OTLP/HTTP JSON encoding (`tracing.otlp`):
// one SERVER span per request and one CLIENT span per upstream try (so retries show as siblings).
// Sampling: the parent's sampled flag when the client sent a valid traceparent, else `sampleRatio`
// of new traces, decided in start(); unsampled requests take the plain W3C path and never touch
// any of this.
// A sampled request's spans are recorded here as plain objects and handed, finished, to the SDK's
// BatchSpanProcessor as ReadableSpans; the batches are sent from a worker thread
// (off-thread-exporter.ts). The SDK's Tracer and Span are not on the request path: with them
// (context objects, span limits, attribute validation, self-metrics, hrtime arithmetic), a 1 %
// ratio cost ~7 % of the gateway's CPU; recorded this way, it is within noise of tracing off.
// Nothing is registered globally; one exporter per distinct `tracing` config. Attributes follow the
// HTTP semantic conventions; the query string is never recorded (it may carry tokens), nor any
// header but User-Agent.

export const ATTR_GATEHOUSE_ROUTE = 'gatehouse.route';
export const ATTR_GATEHOUSE_VIRTUAL_HOST = 'gatehouse.virtual_host';
export const ATTR_GATEHOUSE_CLUSTER = 'gatehouse.cluster';
export const ATTR_GATEHOUSE_REQUEST_ID = 'gatehouse.request_id';
/** Envoy-style response flags (the access log's `flags`, e.g. "UF,URX"); absent when there are none. */
export const ATTR_GATEHOUSE_RESPONSE_FLAGS = 'gatehouse.response_flags';

/** OTLP/HTTP wants the signal path: a bare collector address gets `/v1/traces` (as OTEL_EXPORTER_OTLP_ENDPOINT does). */
export function tracesUrl(endpoint: string): string {
  const u = new URL(endpoint);
  if (!u.pathname.endsWith('/v1/traces')) u.pathname = `${u.pathname.replace(/\/+$/, '')}/v1/traces`;
  return u.toString();
}

function portOf(authority: string): number | undefined {
  const colon = authority.lastIndexOf(':');
  if (colon === -1 || authority.indexOf(']', colon) !== -1) return undefined;
  const n = Number(authority.slice(colon + 1));
  return Number.isInteger(n) && n > 0 ? n : undefined;
}

const nowMs = (): number => performance.timeOrigin + performance.now();

/** Where finished spans go, and what every span of one exporter shares. */
interface SpanSink {
  readonly processor: BatchSpanProcessor;
  readonly resource: Resource;
  readonly scope: InstrumentationScope;
}

const UNSET: SpanStatus = { code: SpanStatusCode.UNSET };
const ERROR: SpanStatus = { code: SpanStatusCode.ERROR };

/** What both kinds of span share; finish() hands it to the processor as a ReadableSpan. */
abstract class RecordedSpan {
  readonly attributes: Attributes = {};
  protected status: SpanStatus = UNSET;
  protected readonly context: SpanContext;

  constructor(
    protected readonly sink: SpanSink,
    traceId: string,
    readonly spanId: string,
    private readonly parent: SpanContext | undefined,
    traceState: TraceState | undefined,
    private readonly kind: SpanKind,
    protected name: string,
    private readonly startMs: number,
  ) {
    this.context = traceState === undefined ? { traceId, spanId, traceFlags: TraceFlags.SAMPLED } : { traceId, spanId, traceFlags: TraceFlags.SAMPLED, traceState };
  }

  protected finish(): void {
    const startTime = millisToHrTime(this.startMs);
    const endTime = millisToHrTime(nowMs());
    const ctx = this.context;
    const span: ReadableSpan = {
      name: this.name,
      kind: this.kind,
      spanContext: () => ctx,
      ...(this.parent !== undefined ? { parentSpanContext: this.parent } : {}),
      startTime,
      endTime,
      status: this.status,
      attributes: this.attributes,
      links: [],
      events: [],
      duration: hrTimeDuration(startTime, endTime),
      ended: true,
      resource: this.sink.resource,
      instrumentationScope: this.sink.scope,
      droppedAttributesCount: 0,
      droppedEventsCount: 0,
      droppedLinksCount: 0,
    };
    this.sink.processor.onEnd(span);
  }
}

class ClientSpan extends RecordedSpan implements TrySpan {
  readonly traceparent: string;

  constructor(sink: SpanSink, server: ServerSpan, method: string, attributes: Attributes) {
    super(sink, server.traceId, newSpanId(), server.ownContext, server.traceState, SpanKind.CLIENT, method, nowMs());
    Object.assign(this.attributes, attributes);
    this.traceparent = formatTraceparent(server.traceId, this.spanId, true);
  }

  end(status: number, errorCode: string | null): void {
    const a = this.attributes;
    if (status > 0) a[ATTR_HTTP_RESPONSE_STATUS_CODE] = status;
    // Client spans: any 4xx/5xx, or no answer at all, is an error (HTTP semantic conventions).
    if (errorCode !== null || status >= 400 || status === 0) {
      a[ATTR_ERROR_TYPE] = errorCode ?? (status > 0 ? String(status) : '_OTHER');
      this.status = ERROR;
    }
    this.finish();
  }
}

class ServerSpan extends RecordedSpan implements RequestSpan {
  constructor(
    sink: SpanSink,
    readonly traceId: string,
    spanId: string,
    parent: SpanContext | undefined,
    readonly traceState: TraceState | undefined,
    method: string,
    startMs: number,
  ) {
    super(sink, traceId, spanId, parent, traceState, SpanKind.SERVER, method, startMs);
  }

  /** This span's context: the parent of its tries' client spans. */
  get ownContext(): SpanContext {
    return this.context;
  }

  startTry(ex: Exchange, target: UpstreamTarget, path: string, resendCount: number): TrySpan {
    const q = path.indexOf('?');
    const attributes: Attributes = {
      [ATTR_HTTP_REQUEST_METHOD]: ex.req.method ?? 'GET',
      [ATTR_SERVER_ADDRESS]: target.host,
      [ATTR_SERVER_PORT]: target.port,
      [ATTR_URL_FULL]: target.origin + (q === -1 ? path : path.slice(0, q)),
      [ATTR_GATEHOUSE_CLUSTER]: ex.cluster?.name ?? '',
    };
    if (resendCount > 0) attributes[ATTR_HTTP_REQUEST_RESEND_COUNT] = resendCount;
    return new ClientSpan(this.sink, this, ex.req.method ?? 'GET', attributes);
  }

  end(ex: Exchange, status: number): void {
    const a = this.attributes;
    const route = ex.route;
    if (route !== null) {
      this.name = `${ex.req.method ?? 'GET'} ${route.name}`;
      a[ATTR_GATEHOUSE_ROUTE] = route.name;
      a[ATTR_GATEHOUSE_VIRTUAL_HOST] = route.virtualHost;
    }
    if (ex.path) a[ATTR_URL_PATH] = ex.path;
    if (ex.cluster !== null) a[ATTR_GATEHOUSE_CLUSTER] = ex.cluster.name;
    if (ex.clientIp) a[ATTR_CLIENT_ADDRESS] = ex.clientIp;
    if (ex.authority) {
      a[ATTR_SERVER_ADDRESS] = hostWithoutPort(ex.authority);
      const port = portOf(ex.authority);
      if (port !== undefined) a[ATTR_SERVER_PORT] = port;
    }
    a[ATTR_GATEHOUSE_REQUEST_ID] = ex.requestId;
    const flags = responseFlags(ex);
    if (flags !== '-') a[ATTR_GATEHOUSE_RESPONSE_FLAGS] = flags;
    if (status > 0) a[ATTR_HTTP_RESPONSE_STATUS_CODE] = status;
    // Server spans: only 5xx (or no answer) is the server's error; a 4xx is the client's.
    if (ex.errorCode !== null) a[ATTR_ERROR_TYPE] = ex.errorCode;
    if (status >= 500 || status === 0) {
      if (ex.errorCode === null) a[ATTR_ERROR_TYPE] = status > 0 ? String(status) : '_OTHER';
      this.status = ERROR;
    }
    this.finish();
  }
}

/** The per-config span exporter: built by compile() when `tracing` is configured, closed when retired. */
export class SpanExport implements SpanSink {
  readonly processor: BatchSpanProcessor;
  readonly resource = resourceFromAttributes({ [ATTR_SERVICE_NAME]: 'gatehouse', [ATTR_SERVICE_VERSION]: VERSION });
  readonly scope: InstrumentationScope = { name: 'gatehouse', version: VERSION };
  /** The config it was built from (a reload with an equal config keeps this exporter). */
  readonly key: string;

  private readonly ratio: number;

  constructor(cfg: TracingConfig) {
    this.key = JSON.stringify(cfg);
    this.ratio = cfg.sampleRatio;
    const exporter = new OffThreadOtlpExporter(tracesUrl(cfg.otlp.endpoint), 10_000);
    // Bounded: past maxQueueSize spans are dropped rather than held (a collector that is away must
    // never grow the gateway's memory).
    this.processor = new BatchSpanProcessor(exporter, { maxQueueSize: 4096, maxExportBatchSize: 512, scheduledDelayMillis: 2000 });
  }

  /** Sets the exchange's trace ids and, when this request is sampled, starts its server span (child of the client's context, if valid). */
  start(ex: Exchange, parent: RemoteParent | null): void {
    ex.spanId = newSpanId();
    if (parent !== null ? !parent.sampled : !(this.ratio >= 1 || Math.random() < this.ratio)) {
      ex.traceId = parent === null ? newTraceId() : parent.traceId;
      ex.sampled = false;
      return;
    }
    const req = ex.req;
    const method = req.method ?? 'GET';
    const traceState = parent !== null && ex.traceState !== null ? createTraceState(ex.traceState) : undefined;
    const remote: SpanContext | undefined =
      parent === null
        ? undefined
        : { traceId: parent.traceId, spanId: parent.spanId, traceFlags: TraceFlags.SAMPLED, isRemote: true, ...(traceState ? { traceState } : {}) };
    ex.traceId = parent === null ? newTraceId() : parent.traceId;
    ex.sampled = true;
    const span = new ServerSpan(this, ex.traceId, ex.spanId, remote, traceState, method, performance.timeOrigin + ex.startedAt);
    const a = span.attributes;
    a[ATTR_HTTP_REQUEST_METHOD] = method;
    a[ATTR_URL_SCHEME] = 'https';
    a[ATTR_NETWORK_PROTOCOL_VERSION] = req.httpVersionMajor === 2 ? '2' : '1.1';
    const ua = req.headers['user-agent'];
    if (typeof ua === 'string') a[ATTR_USER_AGENT_ORIGINAL] = ua;
    ex.span = span;
  }

  /** Exports what is queued, then stops. */
  close(): void {
    void this.processor.shutdown().catch(() => undefined);
  }

  /** For tests and shutdown: export everything queued now. */
  flush(): Promise<void> {
    return this.processor.forceFlush();
  }
}
