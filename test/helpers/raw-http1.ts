import tls from 'node:tls';
import type { TestPki } from './pki.ts';

// Exact bytes over a real TLS connection (ALPN http/1.1), for requests no HTTP client would send.

export interface RawResult {
  /** Everything the gateway sent back, as latin1 text. */
  text: string;
  /** The status codes of every response in `text`, in order. */
  statuses: number[];
  /** The gateway closed the connection (as it must after a malformed request). */
  closedByServer: boolean;
}

/**
 * Writes `bytes` and collects the answer until the gateway closes the connection, or until `maxMs`
 * passes (then the client closes it; `closedByServer` is false).
 */
export function rawHttp1(pki: TestPki, port: number, bytes: string | Buffer, o: { servername?: string; maxMs?: number } = {}): Promise<RawResult> {
  return new Promise((resolve, reject) => {
    const s = tls.connect(
      { host: '127.0.0.1', port, ca: pki.read('ca.crt'), servername: o.servername ?? 'localhost', ALPNProtocols: ['http/1.1'], checkServerIdentity: () => undefined },
      () => s.write(typeof bytes === 'string' ? Buffer.from(bytes, 'latin1') : bytes),
    );
    const chunks: Buffer[] = [];
    let clientClosed = false;
    const timer = setTimeout(() => {
      clientClosed = true;
      s.end();
    }, o.maxMs ?? 15_000);
    s.on('data', (d: Buffer) => chunks.push(d));
    s.on('error', () => undefined);
    s.once('secureConnect', () => s.off('error', reject));
    s.once('error', reject);
    s.on('close', () => {
      clearTimeout(timer);
      const text = Buffer.concat(chunks).toString('latin1');
      resolve({ text, statuses: [...text.matchAll(/HTTP\/1\.[01] (\d{3})/g)].map((m) => Number(m[1])), closedByServer: !clientClosed });
    });
  });
}
