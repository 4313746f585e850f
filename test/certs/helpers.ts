// Shared helpers for the certificate tests (not a test file itself).
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import tls from 'node:tls';
import net from 'node:net';
import type { AddressInfo } from 'node:net';

export async function tempDir(t: { after: (fn: () => Promise<void>) => void }, prefix = 'gatehouse-certs-'): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** IPv6 SAN as Node/OpenSSL print it ("0:0:0:0:0:0:0:1") or compressed ("::1"). */
export const IPV6_LOOPBACK_SAN = /IP Address:(?:::1|0:0:0:0:0:0:0:1)(?:,|$)/;

export interface HandshakeResult {
  /** what the server sent after a successful handshake (it writes "hello") */
  data: string;
  clientError?: Error;
  serverError?: Error;
  /** subjectaltname of the client certificate, as the server saw it */
  serverSawClientSan?: string;
  /** subjectaltname of the server certificate, as the client saw it */
  clientSawServerSan?: string;
  clientAuthorized?: boolean;
  /** set when the server completed a handshake ('secureConnection') */
  serverAuthorized?: boolean;
  serverAuthorizationError?: string;
}

/**
 * A real TLS handshake over loopback: the server answers "hello" on every authorized connection
 * and closes it. Resolves once the client socket has closed.
 */
export async function handshake(opts: {
  server: tls.TlsOptions;
  client: tls.ConnectionOptions;
  host?: string;
}): Promise<HandshakeResult> {
  const host = opts.host ?? '127.0.0.1';
  const result: HandshakeResult = { data: '' };
  const server = tls.createServer(opts.server, (sock) => {
    const peer = sock.getPeerCertificate();
    if (peer && peer.subjectaltname) result.serverSawClientSan = peer.subjectaltname;
    result.serverAuthorized = sock.authorized;
    if (sock.authorizationError) result.serverAuthorizationError = String(sock.authorizationError);
    sock.on('error', () => {});
    sock.end('hello');
  });
  server.on('tlsClientError', (err) => {
    result.serverError = err;
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  try {
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        result.clientError ??= new Error('handshake test timed out');
        sock.destroy();
      }, 10_000);
      const sock = tls.connect({ ...opts.client, host, port });
      sock.setEncoding('utf8');
      sock.on('secureConnect', () => {
        result.clientAuthorized = sock.authorized;
        const peer = sock.getPeerCertificate();
        if (peer && peer.subjectaltname) result.clientSawServerSan = peer.subjectaltname;
      });
      sock.on('data', (d: string) => {
        result.data += d;
      });
      sock.on('error', (err) => {
        result.clientError ??= err;
      });
      sock.on('close', () => {
        clearTimeout(timer);
        resolve();
      });
    });
  } finally {
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
  return result;
}

export async function ipv6Available(): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.once('error', () => resolve(false));
    s.listen(0, '::1', () => s.close(() => resolve(true)));
  });
}

const execFileAsync = promisify(execFile);

/** Runs openssl; null when it is not installed. */
export async function openssl(args: string[]): Promise<{ code: number; stdout: string; stderr: string } | null> {
  try {
    const { stdout, stderr } = await execFileAsync('openssl', args);
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { stdout?: string; stderr?: string; code?: unknown };
    if (e.code === 'ENOENT') return null;
    return { code: typeof e.code === 'number' ? e.code : 1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}
