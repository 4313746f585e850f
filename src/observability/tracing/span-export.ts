import type { TracingConfig } from '../../config/schema.ts';
import type { Exchange } from '../../exchange.ts';
import { formatTraceparent, newSpanId, newTraceId, type RemoteParent } from '../trace-context.ts';
import { responseFlags } from '../response-flags.ts';
import type { RequestSpan, TrySpan, UpstreamTarget } from './request-span.ts';
import type { ClientSpanRecord, ServerSpanRecord } from './span-record.ts';
import { SpanBatcher } from './span-batcher.ts';

// Span export (`tracing.otlp`): one SERVER span per request and one CLIENT span per upstream try
// (so retries show as siblings), over OTLP/HTTP.
// Sampling: the parent's sampled flag when the client sent a valid traceparent, else `sampleRatio`
// of new traces, decided in start(); unsampled requests take the plain W3C path and never touch
// any of this.
// A sampled request's spans are recorded here as plain records of what the exchange already holds
// (span-record.ts) and queued (span-batcher.ts); the export worker builds the OpenTelemetry spans
// and their OTLP JSON from them (span-build.ts), in batches, where that code stays hot. Neither the
// SDK's Tracer and Span (context objects, span limits, attribute validation) nor its span
// objects and serializer run on the serving thread. Nothing is registered globally; one exporter
// per distinct `tracing` config.

/** OTLP/HTTP wants the signal path: a bare collector address gets `/v1/traces` (as OTEL_EXPORTER_OTLP_ENDPOINT does). */
export function tracesUrl(endpoint: string): string {
  const u = new URL(endpoint);
  if (!u.pathname.endsWith('/v1/traces')) u.pathname = `${u.pathname.replace(/\/+$/, '')}/v1/traces`;
  return u.toString();
}

const nowMs = (): number => performance.timeOrigin + performance.now();

class ClientSpan implements TrySpan {
  readonly traceparent: string;
  private readonly record: ClientSpanRecord;

  constructor(
    private readonly batcher: SpanBatcher,
    server: ServerSpanRecord,
    target: UpstreamTarget,
    path: string,
    cluster: string,
    resendCount: number,
  ) {
    const spanId = newSpanId();
    const q = path.indexOf('?');
    this.record = {
      kind: 'client',
      traceId: server.traceId,
      spanId,
      parentSpanId: server.spanId,
      traceState: server.traceState,
      startMs: nowMs(),
      endMs: 0,
      method: server.method,
      status: 0,
      errorCode: null,
      host: target.host,
      port: target.port,
      url: target.origin + (q === -1 ? path : path.slice(0, q)),
      cluster,
      resendCount,
    };
    this.traceparent = formatTraceparent(server.traceId, spanId, true);
  }

  end(status: number, errorCode: string | null): void {
    const r = this.record;
    r.endMs = nowMs();
    r.status = status;
    r.errorCode = errorCode;
    this.batcher.add(r);
  }
}

class ServerSpan implements RequestSpan {
  constructor(
    private readonly batcher: SpanBatcher,
    private readonly record: ServerSpanRecord,
  ) {}

  startTry(ex: Exchange, target: UpstreamTarget, path: string, resendCount: number): TrySpan {
    return new ClientSpan(this.batcher, this.record, target, path, ex.cluster?.name ?? '', resendCount);
  }

  end(ex: Exchange, status: number): void {
    const r = this.record;
    r.endMs = nowMs();
    const route = ex.route;
    if (route !== null) {
      r.route = route.name;
      r.virtualHost = route.virtualHost;
    }
    r.path = ex.path;
    r.cluster = ex.cluster === null ? null : ex.cluster.name;
    r.clientIp = ex.clientIp;
    r.authority = ex.authority;
    r.requestId = ex.requestId;
    r.flags = responseFlags(ex);
    r.status = status;
    r.errorCode = ex.errorCode;
    this.batcher.add(r);
  }
}

/** The per-config span exporter: built by compile() when `tracing` is configured, closed when retired. */
export class SpanExport {
  /** The config it was built from (a reload with an equal config keeps this exporter). */
  readonly key: string;

  private readonly ratio: number;
  private readonly batcher: SpanBatcher;

  constructor(cfg: TracingConfig) {
    this.key = JSON.stringify(cfg);
    this.ratio = cfg.sampleRatio;
    this.batcher = new SpanBatcher(tracesUrl(cfg.otlp.endpoint), 10_000);
    // At ratio 0 only a client's sampled flag records a span: the worker starts if one comes.
    if (this.ratio > 0) this.batcher.warm();
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
    ex.traceId = parent === null ? newTraceId() : parent.traceId;
    ex.sampled = true;
    const ua = req.headers['user-agent'];
    ex.span = new ServerSpan(this.batcher, {
      kind: 'server',
      traceId: ex.traceId,
      spanId: ex.spanId,
      parentSpanId: parent === null ? null : parent.spanId,
      traceState: parent === null ? null : ex.traceState,
      startMs: performance.timeOrigin + ex.startedAt,
      endMs: 0,
      method: req.method ?? 'GET',
      status: 0,
      errorCode: null,
      protocol: req.httpVersionMajor === 2 ? '2' : '1.1',
      userAgent: typeof ua === 'string' ? ua : null,
      route: null,
      virtualHost: null,
      path: '',
      cluster: null,
      clientIp: '',
      authority: '',
      requestId: '',
      flags: '-',
    });
  }

  /** Exports what is queued, then stops. */
  close(): void {
    void this.batcher.close();
  }

  /** For tests and shutdown: export everything queued now. */
  flush(): Promise<void> {
    return this.batcher.flush();
  }
}
