// A finished span as the serving thread records it: plain data, built from strings and numbers the
// request already holds, structured-clonable so a batch crosses to the export worker as is. The
// worker turns records into the SDK's ReadableSpans and the OTLP JSON (span-build.ts): that code
// runs in batches there and stays hot, where on the serving thread, run once in a hundred requests,
// it cost ~107 µs per sampled request.

interface SpanRecordBase {
  traceId: string;
  spanId: string;
  /** The parent span's id: the client's (server span with a remote parent) or the server span's (client span). */
  parentSpanId: string | null;
  /** Epoch milliseconds (fractional). */
  startMs: number;
  endMs: number;
  method: string;
  /** The HTTP status answered (0: none). */
  status: number;
  /** The gateway's error code for a failed request or try, or null. */
  errorCode: string | null;
  /** The client's `tracestate`, when it sent one with a valid parent (every span of the trace carries it). */
  traceState: string | null;
}

/** The SERVER span of one request. */
export interface ServerSpanRecord extends SpanRecordBase {
  kind: 'server';
  /** '2' or '1.1'. */
  protocol: string;
  userAgent: string | null;
  route: string | null;
  virtualHost: string | null;
  path: string;
  cluster: string | null;
  clientIp: string;
  /** The request's authority (host[:port]), '' when none. */
  authority: string;
  requestId: string;
  /** Envoy-style response flags ('-' when none). */
  flags: string;
}

/** The CLIENT span of one upstream try. */
export interface ClientSpanRecord extends SpanRecordBase {
  kind: 'client';
  host: string;
  port: number;
  /** The upstream URL without its query string. */
  url: string;
  cluster: string;
  /** 0 for the first try. */
  resendCount: number;
}

export type SpanRecord = ServerSpanRecord | ClientSpanRecord;
