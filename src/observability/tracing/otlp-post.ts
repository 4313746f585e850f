import http from 'node:http';
import https from 'node:https';

// One OTLP/HTTP export: POST an encoded batch to the collector's traces URL. Used by the export
// worker (export-worker.ts), and in-process only if that worker cannot run.

const agents = {
  http: new http.Agent({ keepAlive: true, maxSockets: 2 }),
  https: new https.Agent({ keepAlive: true, maxSockets: 2 }),
};

/** Resolves on a 2xx answer; rejects with a short reason otherwise (status, network error, deadline). */
export function postOtlp(url: string, body: Uint8Array, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const target = new URL(url);
    const secure = target.protocol === 'https:';
    const req = (secure ? https : http).request(
      target,
      {
        method: 'POST',
        agent: secure ? agents.https : agents.http,
        signal: AbortSignal.timeout(timeoutMs),
        headers: { 'content-type': 'application/json', 'content-length': body.byteLength },
      },
      (res) => {
        const status = res.statusCode ?? 0;
        res.resume(); // the answer's body (partial-success details) is not needed
        res.on('end', () => (status >= 200 && status < 300 ? resolve() : reject(new Error(`collector answered ${status}`))));
        res.on('error', reject);
      },
    );
    req.on('error', (err: Error) => reject(err.name === 'AbortError' ? new Error(`no answer within ${timeoutMs} ms`) : err));
    req.end(body);
  });
}
