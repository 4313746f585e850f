import { ROOT_CONTEXT, SpanKind, SpanStatusCode, TraceFlags, trace, createTraceState, type Attributes, type Span, type Tracer } from '@opentelemetry/api';
import { BasicTracerProvider, BatchSpanProcessor, ParentBasedSampler, AlwaysOnSampler } from '@opentelemetry/sdk-trace-base';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
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

// Span export with the OpenTelemetry SDK (`tracing.otlp`): one SERVER span per request and one
// CLIENT span per upstream try (so retries show as siblings), batched and sent over OTLP/HTTP
// (JSON). Sampling: the parent's sampled flag when the client sent a valid traceparent, else
// `sampleRatio` of new traces, decided in start() so unsampled requests never reach the SDK. The provider is private to the
// gateway — nothing is registered globally — and built once per distinct `tracing` config.
// Attributes follow the HTTP semantic conventions; the query string is never recorded (it may
// carry tokens), nor any header but User-Agent.

export const ATTR_GATEHOUSE_ROUTE = 'gatehouse.route';
export const ATTR_GATEHOUSE_VIRTUAL_HOST = 'gatehouse.virtual_host';
export const ATTR_GATEHOUSE_CLUSTER = 'gatehouse.cluster';
export const ATTR_GATEHOUSE_REQUEST_ID = 'gatehouse.request_id';
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

class ClientSpan implements TrySpan {
  readonly traceparent: string;
  constructor(private readonly span: Span) {
    const sc = span.spanContext();
    this.traceparent = formatTraceparent(sc.traceId, sc.spanId, (sc.traceFlags & TraceFlags.SAMPLED) !== 0);
  }

  end(status: number, errorCode: string | null): void {
    const s = this.span;
    if (status > 0) s.setAttribute(ATTR_HTTP_RESPONSE_STATUS_CODE, status);
    // Client spans: any 4xx/5xx, or no answer at all, is an error (HTTP semantic conventions).
    if (errorCode !== null || status >= 400 || status === 0) {
      s.setAttribute(ATTR_ERROR_TYPE, errorCode ?? (status > 0 ? String(status) : '_OTHER'));
      s.setStatus({ code: SpanStatusCode.ERROR });
    }
    s.end();
  }
}

class ServerSpan implements RequestSpan {
  constructor(
    private readonly span: Span,
    private readonly tracer: Tracer,
    private readonly recording: boolean,
  ) {}

  startTry(ex: Exchange, target: UpstreamTarget, path: string, resendCount: number): TrySpan | null {
    if (!this.recording) return null; // nobody will see it: the server span stays the upstream's parent
    const q = path.indexOf('?');
    const attributes: Attributes = {
      [ATTR_HTTP_REQUEST_METHOD]: ex.req.method ?? 'GET',
      [ATTR_SERVER_ADDRESS]: target.host,
      [ATTR_SERVER_PORT]: target.port,
      [ATTR_URL_FULL]: target.origin + (q === -1 ? path : path.slice(0, q)),
      [ATTR_GATEHOUSE_CLUSTER]: ex.cluster?.name ?? '',
    };
    if (resendCount > 0) attributes[ATTR_HTTP_REQUEST_RESEND_COUNT] = resendCount;
    const span = this.tracer.startSpan(ex.req.method ?? 'GET', { kind: SpanKind.CLIENT, attributes }, trace.setSpan(ROOT_CONTEXT, this.span));
    return new ClientSpan(span);
  }

  end(ex: Exchange, status: number): void {
    const s = this.span;
    if (!this.recording) {
      s.end();
      return;
    }
    const route = ex.route;
    if (route !== null) {
      s.updateName(`${ex.req.method ?? 'GET'} ${route.name}`);
      s.setAttribute(ATTR_GATEHOUSE_ROUTE, route.name);
      s.setAttribute(ATTR_GATEHOUSE_VIRTUAL_HOST, route.virtualHost);
    }
    if (ex.path) s.setAttribute(ATTR_URL_PATH, ex.path);
    if (ex.cluster !== null) s.setAttribute(ATTR_GATEHOUSE_CLUSTER, ex.cluster.name);
    if (ex.clientIp) s.setAttribute(ATTR_CLIENT_ADDRESS, ex.clientIp);
    if (ex.authority) {
      s.setAttribute(ATTR_SERVER_ADDRESS, hostWithoutPort(ex.authority));
      const port = portOf(ex.authority);
      if (port !== undefined) s.setAttribute(ATTR_SERVER_PORT, port);
    }
    s.setAttribute(ATTR_GATEHOUSE_REQUEST_ID, ex.requestId);
    if (status > 0) s.setAttribute(ATTR_HTTP_RESPONSE_STATUS_CODE, status);
    // Server spans: only 5xx (or no answer) is the server's error; a 4xx is the client's.
    if (ex.errorCode !== null) s.setAttribute(ATTR_ERROR_TYPE, ex.errorCode);
    if (status >= 500 || status === 0) {
      if (ex.errorCode === null) s.setAttribute(ATTR_ERROR_TYPE, status > 0 ? String(status) : '_OTHER');
      s.setStatus({ code: SpanStatusCode.ERROR });
    }
    s.end();
  }
}

/** The per-config span exporter: built by compile() when `tracing` is configured, closed when retired. */
export class SpanExport {
  private readonly provider: BasicTracerProvider;
  private readonly tracer: Tracer;
  /** The config it was built from (a reload with an equal config keeps this exporter). */
  readonly key: string;

  private readonly ratio: number;

  constructor(cfg: TracingConfig) {
    this.key = JSON.stringify(cfg);
    this.ratio = cfg.sampleRatio;
    const exporter = new OTLPTraceExporter({ url: tracesUrl(cfg.otlp.endpoint), timeoutMillis: 10_000 });
    this.provider = new BasicTracerProvider({
      resource: resourceFromAttributes({ [ATTR_SERVICE_NAME]: 'gatehouse', [ATTR_SERVICE_VERSION]: VERSION }),
      sampler: new ParentBasedSampler({ root: new AlwaysOnSampler() }), // the ratio is applied in start()
      // Bounded: past maxQueueSize spans are dropped rather than held (a collector that is away
      // must never grow the gateway's memory).
      spanProcessors: [new BatchSpanProcessor(exporter, { maxQueueSize: 4096, maxExportBatchSize: 512, scheduledDelayMillis: 2000 })],
    });
    this.tracer = this.provider.getTracer('gatehouse', VERSION);
  }

  /** Starts the request's server span (child of the client's context, if valid) and sets the exchange's trace ids. */
  start(ex: Exchange, parent: RemoteParent | null): void {
    // Sampling is decided here, before the SDK is asked anything: the parent's flag, or sampleRatio
    // for a new trace. The requests not sampled — most of them at a low ratio — take the plain W3C
    // path (no span object at all), so they cost what they cost with tracing not configured; the SDK
    // sees only the sampled ones (its sampler: parent-based, AlwaysOn for the roots we let through).
    if (parent !== null ? !parent.sampled : !(this.ratio >= 1 || Math.random() < this.ratio)) {
      ex.traceId = parent === null ? newTraceId() : parent.traceId;
      ex.spanId = newSpanId();
      ex.sampled = false;
      return;
    }
    let ctx = ROOT_CONTEXT;
    if (parent !== null) {
      ctx = trace.setSpanContext(ROOT_CONTEXT, {
        traceId: parent.traceId,
        spanId: parent.spanId,
        traceFlags: parent.sampled ? TraceFlags.SAMPLED : TraceFlags.NONE,
        isRemote: true,
        ...(ex.traceState !== null ? { traceState: createTraceState(ex.traceState) } : {}),
      });
    }
    const req = ex.req;
    // No attributes at start: the samplers do not read them, and most spans of a low ratio are not
    // recorded — those should cost as little as the SDK allows.
    const span = this.tracer.startSpan(req.method ?? 'GET', { kind: SpanKind.SERVER, startTime: performance.timeOrigin + ex.startedAt }, ctx);
    const recording = span.isRecording();
    if (recording) {
      span.setAttribute(ATTR_HTTP_REQUEST_METHOD, req.method ?? 'GET');
      span.setAttribute(ATTR_URL_SCHEME, 'https');
      span.setAttribute(ATTR_NETWORK_PROTOCOL_VERSION, req.httpVersionMajor === 2 ? '2' : '1.1');
      const ua = req.headers['user-agent'];
      if (typeof ua === 'string') span.setAttribute(ATTR_USER_AGENT_ORIGINAL, ua);
    }
    const sc = span.spanContext();
    ex.traceId = sc.traceId;
    ex.spanId = sc.spanId;
    ex.sampled = (sc.traceFlags & TraceFlags.SAMPLED) !== 0;
    ex.span = new ServerSpan(span, this.tracer, recording);
  }

  /** Exports what is queued, then stops. */
  close(): void {
    void this.provider.shutdown().catch(() => undefined);
  }

  /** For tests and shutdown: export everything queued now. */
  flush(): Promise<void> {
    return this.provider.forceFlush();
  }
}
