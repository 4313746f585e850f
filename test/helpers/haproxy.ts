import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { canConnect, eventually, freePort } from './net.ts';
import { testTempDir } from './tmp.ts';

// A real HAProxy (Debian's /usr/sbin/haproxy) in TCP mode as the cloud load balancer in front of
// the gateway: it relays each client connection to `backendPort` and prepends a PROXY protocol
// header, v1 (`send-proxy`) or v2 (`send-proxy-v2`, with TLVs: unique-id, crc32c, authority). One
// foreground process (-db) with its own temp config.

export interface TestHaproxy {
  port: number;
  close(): Promise<void>;
}

export async function startHaproxy(o: { backendPort: number; version: 1 | 2 }): Promise<TestHaproxy> {
  const dir = testTempDir('gatehouse-haproxy-');
  const port = await freePort();
  const send = o.version === 1 ? 'send-proxy' : 'send-proxy-v2 proxy-v2-options unique-id,crc32c,authority';
  const conf = `
global
  maxconn 256
defaults
  mode tcp
  timeout connect 5s
  timeout client 30s
  timeout server 30s
frontend lb
  bind 127.0.0.1:${port}
  unique-id-format lb-%rt
  default_backend gatehouse
backend gatehouse
  server gw 127.0.0.1:${o.backendPort} ${send}
`;
  const file = join(dir, 'haproxy.cfg');
  writeFileSync(file, conf);
  const child = spawn('/usr/sbin/haproxy', ['-db', '-f', file], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  let exited = false;
  child.once('exit', () => (exited = true));
  await eventually(async () => {
    if (exited) throw new Error(`haproxy exited: ${stderr}`);
    return canConnect(port);
  }, 'haproxy listening', 15_000);
  return {
    port,
    close: () =>
      new Promise<void>((resolve) => {
        if (exited) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}
