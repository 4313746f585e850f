import { PassThrough, Transform, type Readable, type TransformCallback } from 'node:stream';

// Keeping a small request body so a retry or a mirror can replay it. The body is read up to `keep`
// bytes: when it ends within that, it is kept whole (a Buffer, replayable); past that, the bytes read
// so far and the rest of the stream are joined into one stream that is sent once — large uploads are
// never buffered. A body without Content-Length is also counted against `maxBodyBytes`.

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
  | { readonly kind: 'stream'; readonly body: Readable }
  | { readonly kind: 'error'; readonly error: Error };

export function keepSmallBody(
  req: Readable,
  contentLength: number | null,
  keep: number,
  maxBodyBytes: number,
  done: (r: KeptBody) => void,
): void {
  if (contentLength !== null && contentLength > keep) {
    done({ kind: 'stream', body: req });
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
      done({ kind: 'stream', body: out });
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
