import https from 'node:https';
import http2, { type ClientHttp2Session } from 'node:http2';
import type { TestPki } from './pki.ts';

// A bounded load generator for drain tests: a few HTTP/1.1 loops (keep-alive agents, one connection
// each) and HTTP/2 loops (one session each, replaced when it is closed or sent GOAWAY), each sending
// one request after another until stopped or `maxRequests` have been sent in all.
//
// It behaves like a correct client, no more: an HTTP/1.1 `connection: close` is honoured (the agent
// opens a new connection), and an HTTP/2 request the server never processed — refused because the
// session got GOAWAY before the stream was sent (REFUSED_STREAM, ERR_HTTP2_GOAWAY_SESSION) — is sent
// again on a new session, as RFC 9113 §8.7 allows and browsers, curl and gRPC do. Anything else that
// is not a 200 is a failure, with its reason.

export interface LoadResult {
  sent: number;
  ok: number;
  failures: string[];
  /** HTTP/2 requests refused unprocessed by a GOAWAY and sent again (not failures). */
  resent: number;
  /** Responses that carried `connection: close` (HTTP/1.1). */
  closeHeaders: number;
}

export interface Load {
  /** Requests answered so far (any outcome). */
  readonly completed: number;
  stop(): Promise<LoadResult>;
}

const UNPROCESSED = new Set(['ERR_HTTP2_GOAWAY_SESSION', 'ERR_HTTP2_INVALID_SESSION', 'REFUSED_STREAM']);

export function startLoad(o: { pki: TestPki; port: number; path: string; h1: number; h2: number; maxRequests: number }): Load {
  const ca = o.pki.read('ca.crt');
  const result: LoadResult = { sent: 0, ok: 0, failures: [], resent: 0, closeHeaders: 0 };
  let completed = 0;
  let running = true;
  const take = () => running && result.sent < o.maxRequests && (result.sent++, true);

  async function h1Loop(): Promise<void> {
    const agent = new https.Agent({ keepAlive: true, maxSockets: 1 });
    try {
      while (take()) {
        try {
          const r = await h1Request(agent);
          if (r.close) result.closeHeaders++;
          if (r.status === 200) result.ok++;
          else result.failures.push(`h1 status ${r.status}`);
        } catch (err) {
          result.failures.push(`h1 ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
        }
        completed++;
      }
    } finally {
      agent.destroy();
    }
  }

  function h1Request(agent: https.Agent): Promise<{ status: number; close: boolean }> {
    return new Promise((resolve, reject) => {
      const req = https.request(
        { host: '127.0.0.1', port: o.port, path: o.path, servername: 'localhost', ca, agent, headers: { host: 'localhost' } },
        (res) => {
          res.resume();
          res.on('end', () => resolve({ status: res.statusCode ?? 0, close: res.headers.connection === 'close' }));
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      req.end();
    });
  }

  async function h2Loop(): Promise<void> {
    let session: ClientHttp2Session | null = null;
    const fresh = (): ClientHttp2Session => {
      const s = http2.connect(`https://localhost:${o.port}`, { ca, servername: 'localhost' });
      s.on('error', () => undefined);
      const drop = () => {
        if (session === s) session = null;
      };
      s.on('goaway', drop);
      s.on('close', drop);
      return s;
    };
    try {
      while (take()) {
        for (let attempt = 0; ; attempt++) {
          session ??= fresh();
          try {
            const status = await h2Request(session);
            if (status === 200) result.ok++;
            else result.failures.push(`h2 status ${status}`);
            break;
          } catch (err) {
            const e = err as NodeJS.ErrnoException & { rstCode?: number };
            const refused = UNPROCESSED.has(e.code ?? '') || /REFUSED_STREAM/.test(e.message);
            if (refused && attempt < 3) {
              result.resent++;
              if (session && (session.closed || session.destroyed)) session = null;
              continue;
            }
            result.failures.push(`h2 ${e.code ?? e.message}`);
            break;
          }
        }
        completed++;
      }
    } finally {
      (session as ClientHttp2Session | null)?.close();
    }
  }

  function h2Request(session: ClientHttp2Session): Promise<number> {
    return new Promise((resolve, reject) => {
      const stream = session.request({ ':path': o.path }); // throws ERR_HTTP2_GOAWAY_SESSION once closed
      let status = 0;
      stream.on('response', (h) => (status = Number(h[':status'])));
      stream.resume();
      stream.on('end', () => resolve(status));
      stream.on('error', reject);
      stream.on('close', () => {
        const code = stream.rstCode === http2.constants.NGHTTP2_REFUSED_STREAM ? 'REFUSED_STREAM' : `rst ${stream.rstCode}`;
        if (status === 0) reject(Object.assign(new Error(`stream closed before a response (${code})`), { code }));
      });
    });
  }

  const loops = [...Array.from({ length: o.h1 }, h1Loop), ...Array.from({ length: o.h2 }, h2Loop)];
  const done = Promise.all(loops);
  return {
    get completed() {
      return completed;
    },
    async stop() {
      running = false;
      await done;
      return result;
    },
  };
}
