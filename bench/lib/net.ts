import net from 'node:net';
import http from 'node:http';
import https from 'node:https';
import http2 from 'node:http2';
import type { Protocol } from './types.ts';

/** A port that was free a moment ago on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export interface Probe {
  status: number;
  body: string;
  protocol: string;
}

/**
 * One request, verifying the server certificate against `ca` for servername `localhost` — the
 * harness's check that a scenario's whole path works before it is measured.
 */
export function probe(
  origin: string,
  path: string,
  protocol: Protocol,
  ca: Buffer | undefined,
  timeoutMs = 5000,
  headers: Record<string, string> = {},
): Promise<Probe> {
  const url = new URL(path, origin);
  if (protocol === 'h2') {
    return new Promise((resolve, reject) => {
      const session = http2.connect(url.origin, { ca, servername: 'localhost', rejectUnauthorized: true });
      const timer = setTimeout(() => {
        session.destroy();
        reject(new Error(`h2 probe ${url.href}: timed out after ${timeoutMs} ms`));
      }, timeoutMs);
      session.on('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
      const h2headers: Record<string, string> = { ':path': url.pathname, ':method': 'GET' };
      for (const [k, v] of Object.entries(headers)) h2headers[k.toLowerCase() === 'host' ? ':authority' : k.toLowerCase()] = v;
      const req = session.request(h2headers);
      let status = 0;
      let body = '';
      req.on('response', (h) => (status = Number(h[':status'])));
      req.setEncoding('utf8');
      req.on('data', (d: string) => (body += d));
      req.on('end', () => {
        clearTimeout(timer);
        session.close();
        resolve({ status, body, protocol: 'h2' });
      });
      req.on('error', (err) => {
        clearTimeout(timer);
        session.destroy();
        reject(err);
      });
    });
  }
  return new Promise((resolve, reject) => {
    const mod = url.protocol === 'https:' ? https : http;
    const req = mod.request(
      url,
      { method: 'GET', headers, ca, servername: 'localhost', rejectUnauthorized: true, agent: false, timeout: timeoutMs, ALPNProtocols: ['http/1.1'] } as https.RequestOptions,
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (body += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body, protocol: `HTTP/${res.httpVersion}` }));
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`probe ${url.href}: timed out after ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end();
  });
}

/** Retries `probe` until it answers 200 or `maxMs` passes. */
export async function waitUntilServing(origin: string, protocol: Protocol, ca: Buffer | undefined, what: string, maxMs = 30_000): Promise<Probe> {
  const until = Date.now() + maxMs;
  let last = '';
  while (Date.now() < until) {
    try {
      const p = await probe(origin, '/', protocol, ca, 2000);
      if (p.status === 200) return p;
      last = `status ${p.status}: ${p.body.slice(0, 200)}`;
    } catch (err) {
      last = (err as Error).message;
    }
    await sleep(100);
  }
  throw new Error(`${what} did not answer 200 on ${origin} within ${maxMs} ms (last: ${last})`);
}
