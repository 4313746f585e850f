import type { Exchange } from '../../exchange.ts';

// What the request path sees of span export: a server span per request and a client span per
// upstream try. Only span-export.ts implements these (with OpenTelemetry); when `tracing` is not
// configured, Exchange.span is null and nothing here is reached.

/** The client span of one upstream try. */
export interface TrySpan {
  /** The traceparent to send upstream for this try: this span is the upstream's parent. */
  readonly traceparent: string;
  /** `status`: the upstream's status (0 when it gave none); `errorCode`: the gateway error, if the try failed. */
  end(status: number, errorCode: string | null): void;
}

export interface UpstreamTarget {
  readonly host: string;
  readonly port: number;
  readonly origin: string;
}

export interface RequestSpan {
  /** A client span for one try (`resendCount` 0 for the first), or null when this request is not recorded. */
  startTry(ex: Exchange, target: UpstreamTarget, path: string, resendCount: number): TrySpan | null;
  /** Ends the server span with what the exchange became (route, cluster, status, error). */
  end(ex: Exchange, status: number): void;
}
