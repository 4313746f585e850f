import { PassThrough, Transform, type Readable, type TransformCallback } from 'node:stream';
import type { Exchange } from './exchange.ts';
import { H2Request } from './listener/h2-stream.ts';

// The request body before it is forwarded: does the request have one, and keeping a small one so a
// retry or a mirror can replay it (or an ext_authz check can read its first bytes). The body is read up
// to `keep` bytes: when it ends within that, it is kept whole (a Buffer, replayable); past that, the
// bytes read so far and the rest of the stream are joined into one stream that is sent once — large
// uploads are never buffered. A body without Content-Length is also counted against `maxBodyBytes`.
// Below proxy/ and filters/ (both use it).

/** True when the request carries a body (HTTP/2: the stream did not end with the headers). */
export function requestHasBody(ex: Exchange): boolean {
  const req = ex.req;
  if (req instanceof H2Request) return !req.stream.endAfterHeaders;
  const h = req.headers;
  return h['transfer-encoding'] !== undefined || (h['content-length'] !== undefined && h['content-length'] !== '0');
}

/** The request body as a Readable: node's HTTP/1.1 request itself, or the HTTP/2 stream's body. */
export function requestBody(ex: Exchange): Readable {
  const req = ex.req;
  return req instanceof H2Request ? req.body() : req;
}

export class BodyTooLargeError extends Error {
  readonly code = 'GATEHOUSE_BODY_TOO_LARGE';
}

/** Counts the bytes of a body without a Content-Length and fails the stream past the limit. */
export class BodyLimit extends Transform {
  private seen: number;
  constructor(
    private readonly max: number,
    already = 0,
    /** Told the byte count when the body ended (the access log's bytesIn). */
    private readonly onEnd: ((bytes: number) => void) | null = null,
  ) {
    super();
    this.seen = already;
  }
  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.seen += chunk.length;
    if (this.seen > this.max) cb(new BodyTooLargeError('request body too large'));
    else cb(null, chunk);
  }
  override _flush(cb: TransformCallback): void {
    this.onEnd?.(this.seen);
    cb();
  }
}

export type KeptBody =
  | { readonly kind: 'kept'; readonly body: Buffer }
  /** `head`: the first `keep` bytes, when asked for with `readHead` (else empty). */
  | { readonly kind: 'stream'; readonly body: Readable; readonly head: Buffer }
  | { readonly kind: 'error'; readonly error: Error };

const EMPTY = Buffer.alloc(0);

/**
 * `readHead`: also read the first `keep` bytes of a body known to be larger (by Content-Length) instead
 * of handing the stream over untouched — ext_authz sends them to the authorization service.
 */
export function keepSmallBody(
  req: Readable,
  contentLength: number | null,
  keep: number,
  maxBodyBytes: number,
  done: (r: KeptBody) => void,
  readHead = false,
): void {
  if (!readHead && contentLength !== null && contentLength > keep) {
    done({ kind: 'stream', body: req, head: EMPTY });
    return;
  }
  const chunks: Buffer[] = [];
  let size = 0;
  let settled = false;
  const cleanup = () => {
    req.off('data', onData);
    req.off('end', onEnd);
    req.off('error', onError);
    req.off('close', onClose);
  };
  const finish = (r: KeptBody) => {
    if (settled) return;
    settled = true;
    cleanup();
    done(r);
  };
  const onData = (c: Buffer) => {
    size += c.length;
    chunks.push(c);
    if (size > maxBodyBytes) {
      finish({ kind: 'error', error: new BodyTooLargeError('request body too large') });
      return;
    }
    if (size > keep) {
      // Too big to keep: send what was read, then the rest, as one stream (once, no retry).
      req.pause();
      cleanup();
      settled = true;
      const out = contentLength === null ? new BodyLimit(maxBodyBytes, 0) : new PassThrough();
      for (const k of chunks) out.write(k);
      req.pipe(out);
      req.once('error', (err) => out.destroy(err));
      const head = readHead ? Buffer.concat(chunks, size).subarray(0, keep) : EMPTY;
      done({ kind: 'stream', body: out, head });
    }
  };
  const onEnd = () => finish({ kind: 'kept', body: chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, size) });
  const onError = (err: Error) => finish({ kind: 'error', error: err });
  const onClose = () => finish({ kind: 'error', error: new Error('client closed the request body') });
  req.on('data', onData);
  req.once('end', onEnd);
  req.once('error', onError);
  req.once('close', onClose);
}
