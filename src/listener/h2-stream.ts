import { constants as h2constants, type IncomingHttpHeaders, type OutgoingHttpHeaders, type ServerHttp2Stream } from 'node:http2';
import { Readable } from 'node:stream';
import type { TLSSocket } from 'node:tls';
import { errorBody, Errors } from '../errors.ts';
import { newRequestId } from '../proxy/request-id.ts';

// HTTP/2 requests served on node's core stream API instead of its HTTP/1-style compat layer.
// The compat layer builds a Readable request and a Stream response per stream, hangs eleven listeners
// on the stream, re-validates every response header and dumps the request body through the Readable
// machinery; on a bare forwarder that was ~14 µs of ~34 µs per request. These two small objects give
// the gateway what it uses of a request and a response (exchange.ts), straight over the stream:
//  - the request body is wrapped in a Readable only when something reads it (`body()`);
//  - a response framed by Content-Length ends with its last DATA frame (END_STREAM on the chunk that
//    completes it, not an empty frame after), or with its HEADERS frame when the length is 0; one that
//    is not (a gRPC or chunked upstream answer) waits for trailers;
//  - what compat did for the application is kept: `Expect` handling, CONNECT refused with 405, the
//    `connection`-specific headers HTTP/2 forbids dropped from a response instead of failing it.

/** Response fields HTTP/2 forbids (RFC 9113 §8.2.2): dropped, as node's compat layer dropped `connection`. */
const CONNECTION_SPECIFIC = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade']);

const END_STREAM = Object.freeze({ endStream: true });
const NO_TRAILERS = Object.freeze({ waitForTrailers: false });
const WAIT_FOR_TRAILERS = Object.freeze({ waitForTrailers: true });

/** An HTTP/2 request as the gateway reads it: the stream's headers, and its body on demand. */
export class H2Request {
  readonly httpVersionMajor = 2;
  readonly httpVersionMinor = 0;
  readonly httpVersion = '2.0';
  readonly stream: ServerHttp2Stream;
  readonly headers: IncomingHttpHeaders;
  readonly rawHeaders: string[];
  readonly method: string;
  readonly url: string | undefined;
  private bodyStream: H2RequestBody | null = null;

  constructor(stream: ServerHttp2Stream, headers: IncomingHttpHeaders, rawHeaders: string[]) {
    this.stream = stream;
    this.headers = headers;
    this.rawHeaders = rawHeaders;
    this.method = headers[':method'] as string;
    this.url = headers[':path'];
  }

  /** The session's TLS socket (node's proxy of it): the peer address, the client certificate. */
  get socket(): TLSSocket | undefined {
    return this.stream.session?.socket as TLSSocket | undefined;
  }

  /** The request body has been received whole (or never will be: the stream is gone). */
  get complete(): boolean {
    const s = this.stream;
    return s.endAfterHeaders || s.readableEnded || s.destroyed || s.closed;
  }

  /** The request body as a Readable. Destroying it never resets the stream: the response still goes out. */
  body(): Readable {
    return (this.bodyStream ??= new H2RequestBody(this.stream));
  }
}

/** The request body as its own Readable (as node's compat request was), fed from the stream with backpressure. */
class H2RequestBody extends Readable {
  private reading = false;
  constructor(private readonly stream: ServerHttp2Stream) {
    super({ autoDestroy: false });
    if (stream.destroyed) {
      // read after the client left (a slow filter ran meanwhile): an ended body, and 'close' for a waiting reader
      this.push(null);
      process.nextTick(() => this.emit('close'));
      return;
    }
    stream.once('end', () => this.push(null));
    // The stream closed before its body ended (a reset, the session gone): the body ends here, and
    // 'close' tells a reader that is still waiting that the client left.
    stream.once('close', () => {
      if (!this.readableEnded) this.push(null);
      this.emit('close');
    });
  }
  override _read(): void {
    if (this.reading) {
      this.stream.resume();
      return;
    }
    this.reading = true;
    this.stream.on('data', (chunk: Buffer) => {
      if (!this.push(chunk)) this.stream.pause();
    });
  }
}

/** An HTTP/2 response as the gateway writes it (GatewayResponse in exchange.ts), straight onto the stream. */
export class H2Response {
  readonly stream: ServerHttp2Stream;
  statusCode = 200;
  private ended = false;
  /** Responded with waitForTrailers: the end of the body waits for addTrailers' fields (or none). */
  private trailersAwaited = false;
  /** Body bytes the head's Content-Length still promises (-1: not framed by Content-Length). */
  private remaining = -1;

  constructor(stream: ServerHttp2Stream) {
    this.stream = stream;
  }

  get headersSent(): boolean {
    return this.stream.headersSent;
  }
  get writableFinished(): boolean {
    return this.stream.writableFinished;
  }
  get writableEnded(): boolean {
    return this.ended;
  }

  writeHead(status: number, headers?: OutgoingHttpHeaders): this {
    const stream = this.stream;
    if (stream.destroyed || stream.closed) return this; // the client is gone: nothing to answer
    const out: OutgoingHttpHeaders = { ':status': status };
    let length = -1;
    if (headers !== undefined) {
      for (const name in headers) {
        const v = headers[name];
        if (v === undefined || CONNECTION_SPECIFIC.has(name)) continue;
        if (name === 'content-length') length = Number(v);
        out[name] = v;
      }
    }
    const framed = length >= 0;
    this.statusCode = status;
    this.trailersAwaited = !framed;
    this.remaining = framed ? length : -1;
    if (length === 0) {
      // nothing to follow (a redirect, an empty answer): one HEADERS frame with END_STREAM
      this.ended = true;
      stream.respond(out, END_STREAM);
    } else stream.respond(out, framed ? NO_TRAILERS : WAIT_FOR_TRAILERS);
    return this;
  }

  /**
   * The whole answer in one HEADERS frame with END_STREAM: what a gRPC client needs to read a
   * trailers-only answer.
   */
  respondHeadersOnly(status: number, headers: OutgoingHttpHeaders): void {
    const stream = this.stream;
    this.ended = true;
    if (stream.destroyed || stream.closed || stream.headersSent) return;
    this.statusCode = status;
    stream.respond({ ...headers, ':status': status }, END_STREAM);
  }

  write(chunk: Buffer): boolean {
    const stream = this.stream;
    if (!stream.headersSent) this.writeHead(this.statusCode);
    // HEAD, 204, 304: node ended the stream with the headers; a body has nowhere to go.
    if (stream.writableEnded || stream.destroyed) return true;
    if (this.remaining > 0 && (this.remaining -= chunk.length) === 0) {
      // the chunk that completes the body carries END_STREAM
      this.ended = true;
      stream.end(chunk);
      return true;
    }
    return stream.write(chunk);
  }

  end(data?: string | Buffer): this {
    if (this.ended) return this;
    this.ended = true;
    const stream = this.stream;
    if (stream.destroyed) return this;
    if (!stream.headersSent) this.writeHead(this.statusCode);
    if (stream.writableEnded || stream.destroyed) return this;
    if (data === undefined) stream.end();
    else stream.end(data);
    return this;
  }

  /** Trailer fields for a response still open; dropped when its head promised none (Content-Length framed). */
  addTrailers(trailers: Record<string, string | string[]>): void {
    if (!this.trailersAwaited) return;
    const stream = this.stream;
    // node sends empty trailers itself when nobody listens for 'wantTrailers'
    stream.once('wantTrailers', () => {
      if (!stream.destroyed && !stream.closed) stream.sendTrailers(trailers);
    });
  }

  /**
   * Cuts the response. Without an error node would reset the stream with NO_ERROR, which a client may
   * take for a whole response (RFC 9113 §8.1 uses it after a complete one): INTERNAL_ERROR says it is not.
   */
  destroy(err?: Error): void {
    if (err === undefined && !this.stream.closed && !this.stream.destroyed) this.stream.close(h2constants.NGHTTP2_INTERNAL_ERROR);
    else this.stream.destroy(err);
  }

  once(event: 'close' | 'drain', listener: () => void): this {
    this.stream.once(event, listener);
    return this;
  }
}

/** What the HTTP/2 request listener is handed: the same shape as node's (req, res) pair. */
export type H2RequestListener = (req: H2Request, res: H2Response) => void;

/**
 * The server's 'stream' listener: wraps each stream and hands it to `onRequest`, answering first what
 * node's compat layer answered for the application (CONNECT: 501 here, 405 there; `Expect` other than 100-continue: 417).
 */
export function streamListener(onRequest: H2RequestListener) {
  return function onStream(stream: ServerHttp2Stream, headers: IncomingHttpHeaders, _flags: number, rawHeaders: string[]): void {
    // A stream error (a reset, a write after the session failed) ends that stream only; the request's
    // 'close' handling sees it. Without a listener it would be thrown.
    stream.on('error', ignore);
    const method = headers[':method'];
    if (method === 'CONNECT') {
      // a forward-proxy tunnel: not an edge gateway's job (501, as over HTTP/1.1: raw-answer.ts)
      const id = newRequestId();
      stream.respond({ ':status': Errors.connectNotSupported.status, 'content-type': 'application/json', 'x-request-id': id });
      stream.end(errorBody(Errors.connectNotSupported, id));
      return;
    }
    const expect = headers.expect;
    if (expect !== undefined) {
      if (expect.toLowerCase() !== '100-continue') {
        stream.respond({ ':status': 417 }, { endStream: true });
        return;
      }
      stream.additionalHeaders({ ':status': h2constants.HTTP_STATUS_CONTINUE });
    }
    onRequest(new H2Request(stream, headers, rawHeaders), new H2Response(stream));
  };
}

function ignore(): void {}
