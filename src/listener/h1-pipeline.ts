import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';

// HTTP/1.1 pipelining, one request at a time per connection. node parses every request a read
// delivers and hands them all to the application at once, and keeps reading while their responses
// are pending: one connection writing 3,000 GETs put 1,024 requests in flight to the upstream (the
// cluster's circuit breaker, shared by every client, stopped it). Envoy and nginx serve a connection's
// requests one after the other, and so does this: a request that arrives while the previous one is
// still being answered waits (its response would have to wait anyway: HTTP/1.1 answers in order),
// and the connection is not read again until the queue is empty, so TCP pushes back on the client.
// What one read already brought is parsed all the same (~1,700 bare GETs in 64 KiB); past
// MAX_WAITING waiting requests the connection is closed.
//
// Reading is stopped on the socket's handle: node's HTTP server consumes a TLS socket from C++, so
// `socket.pause()` would not stop it, and pausing node's parser (what node does for a slow reader)
// makes the next read fail with HPE_PAUSED.

/** Pipelined requests that may wait on one connection: more than any client pipelines on purpose. */
export const MAX_WAITING = 512;

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

/** The libuv stream under the socket (TLSWrap for TLS), which node's net.Socket drives the same way. */
type PausableSocket = Socket & { _handle?: { reading: boolean; readStop(): number; readStart(): number } | null };

class ConnectionQueue {
  busy = false;
  paused = false;
  /** Waiting requests and their responses, alternating. */
  readonly waiting: Array<IncomingMessage | ServerResponse> = [];
  /** Bound once per connection: added to each response, so no closure is made per request. */
  readonly next = (): void => this.startNext();

  constructor(
    private readonly socket: PausableSocket,
    private readonly handler: Handler,
  ) {}

  start(req: IncomingMessage, res: ServerResponse): void {
    this.busy = true;
    res.on('close', this.next);
    this.handler(req, res);
  }

  private startNext(): void {
    this.busy = false;
    const socket = this.socket;
    if (socket.destroyed) {
      this.waiting.length = 0; // node answers nothing more on a closed connection
      return;
    }
    if (this.waiting.length > 0) {
      const req = this.waiting.shift() as IncomingMessage;
      const res = this.waiting.shift() as ServerResponse;
      this.start(req, res);
      return;
    }
    if (this.paused) {
      this.paused = false;
      const h = socket._handle;
      if (h && !h.reading) {
        h.reading = true;
        h.readStart();
      }
    }
  }

  stopReading(): void {
    const h = this.socket._handle;
    if (this.paused || !h || !h.reading) return;
    this.paused = true;
    h.reading = false;
    h.readStop();
  }
}

const QUEUE = Symbol('gatehouse.pipeline');

/** Wraps an HTTP/1.x request listener so that each connection's requests are served one at a time. */
export function oneRequestAtATime(handler: Handler): Handler {
  return function servePipelined(req, res) {
    const socket = req.socket as PausableSocket & { [QUEUE]?: ConnectionQueue };
    let q = socket[QUEUE];
    if (q === undefined) q = socket[QUEUE] = new ConnectionQueue(socket, handler);
    if (!q.busy) {
      q.start(req, res);
      return;
    }
    if (q.waiting.length >= 2 * MAX_WAITING) {
      socket.destroy();
      return;
    }
    q.waiting.push(req, res);
    q.stopReading();
  };
}
