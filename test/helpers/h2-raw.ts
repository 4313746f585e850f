import tls from 'node:tls';

// A raw HTTP/2 client over TLS that writes frames by hand, for attacks node's http2 client will not
// make (rapid reset, floods, CONTINUATION without end, HPACK bombs, zero windows). It parses every
// frame the server sends and remembers GOAWAY / RST_STREAM / HEADERS, so a test can wait for them.

export const FrameType = {
  DATA: 0x0,
  HEADERS: 0x1,
  PRIORITY: 0x2,
  RST_STREAM: 0x3,
  SETTINGS: 0x4,
  PUSH_PROMISE: 0x5,
  PING: 0x6,
  GOAWAY: 0x7,
  WINDOW_UPDATE: 0x8,
  CONTINUATION: 0x9,
} as const;

export const Flag = { END_STREAM: 0x1, ACK: 0x1, END_HEADERS: 0x4, PADDED: 0x8, PRIORITY: 0x20 } as const;

export const ErrorCode = {
  NO_ERROR: 0x0,
  PROTOCOL_ERROR: 0x1,
  INTERNAL_ERROR: 0x2,
  FLOW_CONTROL_ERROR: 0x3,
  REFUSED_STREAM: 0x7,
  CANCEL: 0x8,
  COMPRESSION_ERROR: 0x9,
  ENHANCE_YOUR_CALM: 0xb,
} as const;

export const Setting = { HEADER_TABLE_SIZE: 0x1, ENABLE_PUSH: 0x2, MAX_CONCURRENT_STREAMS: 0x3, INITIAL_WINDOW_SIZE: 0x4, MAX_FRAME_SIZE: 0x5 } as const;

const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n');

export interface Frame {
  type: number;
  flags: number;
  streamId: number;
  payload: Buffer;
}

export function frame(type: number, flags: number, streamId: number, payload: Buffer = Buffer.alloc(0)): Buffer {
  const head = Buffer.alloc(9);
  head.writeUIntBE(payload.length, 0, 3);
  head[3] = type;
  head[4] = flags;
  head.writeUInt32BE(streamId & 0x7fffffff, 5);
  return Buffer.concat([head, payload]);
}

export function settingsPayload(settings: Array<[number, number]>): Buffer {
  const b = Buffer.alloc(settings.length * 6);
  settings.forEach(([id, value], i) => {
    b.writeUInt16BE(id, i * 6);
    b.writeUInt32BE(value, i * 6 + 2);
  });
  return b;
}

function hpackInt(value: number, prefixBits: number, firstByteFlags: number): Buffer {
  const max = (1 << prefixBits) - 1;
  if (value < max) return Buffer.from([firstByteFlags | value]);
  const out = [firstByteFlags | max];
  value -= max;
  while (value >= 128) {
    out.push((value % 128) + 128);
    value = Math.floor(value / 128);
  }
  out.push(value);
  return Buffer.from(out);
}

function hpackString(s: string | Buffer): Buffer {
  const b = typeof s === 'string' ? Buffer.from(s, 'latin1') : s;
  return Buffer.concat([hpackInt(b.length, 7, 0x00), b]); // never Huffman-coded: bytes go as written
}

/** A literal header field without indexing (HPACK §6.2.2), name and value as raw bytes. */
export function literal(name: string, value: string | Buffer): Buffer {
  return Buffer.concat([Buffer.from([0x00]), hpackString(name), hpackString(value)]);
}

/** A literal header field with incremental indexing (§6.2.1): adds it to the server's dynamic table. */
export function literalIndexed(name: string, value: string | Buffer): Buffer {
  return Buffer.concat([Buffer.from([0x40]), hpackString(name), hpackString(value)]);
}

/** An indexed header field (§6.1): index 62 is the newest dynamic-table entry. */
export function indexed(index: number): Buffer {
  return hpackInt(index, 7, 0x80);
}

/** The header block of a simple request (pseudo-headers first, then `extra`). */
export function requestBlock(o: { method?: string; path?: string; authority?: string; extra?: Array<[string, string]> } = {}): Buffer {
  const fields = [
    literal(':method', o.method ?? 'GET'),
    literal(':scheme', 'https'),
    literal(':path', o.path ?? '/'),
    literal(':authority', o.authority ?? 'localhost'),
    ...(o.extra ?? []).map(([n, v]) => literal(n, v)),
  ];
  return Buffer.concat(fields);
}

const STATIC_STATUS: Record<number, number> = { 8: 200, 9: 204, 10: 206, 11: 304, 12: 400, 13: 404, 14: 500 };

/**
 * The :status of a response header block, when the server sent it first as a static-table index or a
 * literal with a raw (not Huffman) value — what nghttp2 does for every status the gateway makes.
 */
export function statusOf(block: Buffer): number | null {
  const b0 = block[0];
  if (b0 & 0x80) return STATIC_STATUS[b0 & 0x7f] ?? null;
  // a literal with name index 8..14 (":status"), 4-bit (0x0_/0x1_) or 6-bit (0x4_) name index
  const nameIndex = (b0 & 0xc0) === 0x40 ? b0 & 0x3f : b0 & 0x0f;
  if (nameIndex < 8 || nameIndex > 14) return null;
  const len = block[1];
  if (len & 0x80) return null; // Huffman-coded
  return Number(block.subarray(2, 2 + len).toString('latin1'));
}

export class RawH2 {
  readonly frames: Frame[] = [];
  closed = false;
  private buf: Buffer = Buffer.alloc(0);
  private waiters: Array<() => void> = [];

  private constructor(readonly socket: tls.TLSSocket) {
    socket.on('data', (d: Buffer) => this.onData(d));
    socket.on('close', () => {
      this.closed = true;
      this.wake();
    });
    socket.on('error', () => undefined);
  }

  /** Connects with ALPN h2, sends the preface and `settings`, and acknowledges the server's SETTINGS. */
  static async connect(port: number, ca: Buffer, o: { settings?: Array<[number, number]>; servername?: string; ackSettings?: boolean } = {}): Promise<RawH2> {
    const socket = await new Promise<tls.TLSSocket>((resolve, reject) => {
      const s = tls.connect({ host: '127.0.0.1', port, ca, servername: o.servername ?? 'localhost', ALPNProtocols: ['h2'] }, () => resolve(s));
      s.once('error', reject);
    });
    if (socket.alpnProtocol !== 'h2') throw new Error(`ALPN gave ${socket.alpnProtocol}`);
    const c = new RawH2(socket);
    c.write(Buffer.concat([PREFACE, frame(FrameType.SETTINGS, 0, 0, settingsPayload(o.settings ?? []))]));
    if (o.ackSettings !== false) {
      await c.waitFor((f) => f.type === FrameType.SETTINGS && (f.flags & Flag.ACK) === 0, 'server SETTINGS');
      c.write(frame(FrameType.SETTINGS, Flag.ACK, 0));
    }
    return c;
  }

  /** Writes bytes; false when the connection is gone (the server closed it). */
  write(b: Buffer): boolean {
    if (this.closed || this.socket.destroyed) return false;
    this.socket.write(b);
    return true;
  }

  /** Waits until the socket's output buffer is below its high-water mark again (the server reads), or it closes. */
  drained(): Promise<void> {
    if (this.closed || !this.socket.writableNeedDrain) return new Promise((r) => setImmediate(r));
    return new Promise((r) => {
      const done = () => {
        this.socket.off('drain', done);
        this.socket.off('close', done);
        r();
      };
      this.socket.once('drain', done);
      this.socket.once('close', done);
    });
  }

  headers(streamId: number, block: Buffer, o: { endStream?: boolean; endHeaders?: boolean } = {}): boolean {
    const flags = (o.endStream === false ? 0 : Flag.END_STREAM) | (o.endHeaders === false ? 0 : Flag.END_HEADERS);
    return this.write(frame(FrameType.HEADERS, flags, streamId, block));
  }

  rst(streamId: number, code: number = ErrorCode.CANCEL): boolean {
    const p = Buffer.alloc(4);
    p.writeUInt32BE(code);
    return this.write(frame(FrameType.RST_STREAM, 0, streamId, p));
  }

  goawayFrame(): Frame | undefined {
    return this.frames.find((f) => f.type === FrameType.GOAWAY);
  }

  /** The GOAWAY's error code, or null when none came. */
  goawayCode(): number | null {
    const g = this.goawayFrame();
    return g ? g.payload.readUInt32BE(4) : null;
  }

  /** The :status of the response on `streamId`, when one came and could be read. */
  status(streamId: number): number | null {
    const h = this.frames.find((f) => f.type === FrameType.HEADERS && f.streamId === streamId);
    return h ? statusOf(h.payload) : null;
  }

  rstCode(streamId: number): number | null {
    const r = this.frames.find((f) => f.type === FrameType.RST_STREAM && f.streamId === streamId);
    return r ? r.payload.readUInt32BE(0) : null;
  }

  /** Resolves with the first frame (already received or to come) that satisfies `pred`; rejects on close or after maxMs. */
  waitFor(pred: (f: Frame) => boolean, what: string, maxMs = 20_000): Promise<Frame> {
    return new Promise((resolve, reject) => {
      const until = Date.now() + maxMs;
      const check = (): boolean => {
        const hit = this.frames.find(pred);
        if (hit) {
          resolve(hit);
          return true;
        }
        if (this.closed) {
          reject(new Error(`connection closed before: ${what}`));
          return true;
        }
        if (Date.now() > until) {
          reject(new Error(`timed out waiting for: ${what}`));
          return true;
        }
        return false;
      };
      if (check()) return;
      const timer = setInterval(() => {
        if (check()) cleanup();
      }, 50);
      const waiter = () => {
        if (check()) cleanup();
      };
      const cleanup = () => {
        clearInterval(timer);
        this.waiters = this.waiters.filter((w) => w !== waiter);
      };
      this.waiters.push(waiter);
    });
  }

  /** Resolves once the server has closed the connection (with or without GOAWAY); rejects after maxMs. */
  async waitClosed(maxMs = 20_000): Promise<void> {
    const until = Date.now() + maxMs;
    while (!this.closed) {
      if (Date.now() > until) throw new Error('timed out waiting for the server to close the connection');
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** Resolves when the server sent GOAWAY or closed the connection, whichever comes first. */
  async waitGoawayOrClose(maxMs = 20_000): Promise<void> {
    const until = Date.now() + maxMs;
    while (!this.closed && !this.goawayFrame()) {
      if (Date.now() > until) throw new Error('timed out waiting for GOAWAY or close');
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  destroy(): void {
    this.socket.destroy();
  }

  private onData(d: Buffer): void {
    this.buf = this.buf.length === 0 ? d : Buffer.concat([this.buf, d]);
    while (this.buf.length >= 9) {
      const len = this.buf.readUIntBE(0, 3);
      if (this.buf.length < 9 + len) break;
      const f: Frame = {
        type: this.buf[3],
        flags: this.buf[4],
        streamId: this.buf.readUInt32BE(5) & 0x7fffffff,
        payload: Buffer.from(this.buf.subarray(9, 9 + len)),
      };
      this.buf = this.buf.subarray(9 + len);
      // keep the log bounded under floods: PING/SETTINGS acks are counted, not kept
      if (f.type === FrameType.PING || (f.type === FrameType.SETTINGS && f.flags & Flag.ACK)) {
        this.acks++;
        continue;
      }
      if (f.type === FrameType.DATA) {
        this.dataBytes += f.payload.length;
        f.payload = Buffer.alloc(0);
      }
      this.frames.push(f);
    }
    this.wake();
  }

  /** PING and SETTINGS acknowledgements received. */
  acks = 0;
  /** DATA payload bytes received (over every stream). */
  dataBytes = 0;

  private wake(): void {
    for (const w of [...this.waiters]) w();
  }
}
