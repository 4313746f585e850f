import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { canConnect, eventually, freePort } from './net.ts';
import type { TestPki } from './pki.ts';
import { testTempDir } from './tmp.ts';

// A real nginx (Debian's /usr/sbin/nginx) as a mutual-TLS mesh upstream: its own temp prefix and
// config, one process in the foreground (`daemon off; master_process off;`), logs in the temp dir,
// `ssl_verify_client on` against the test CA. It answers every request with the client
// certificate's serial and SAN so a test sees which client certificate was used.

export interface TestNginx {
  port: number;
  address: string;
  dir: string;
  /** Lines of the access log (one per request nginx answered). */
  accessLog(): string[];
  errorLog(): string;
  close(): Promise<void>;
}

export async function startNginx(o: { pki: TestPki; cert?: string; key?: string }): Promise<TestNginx> {
  const dir = testTempDir('gatehouse-nginx-');
  const port = await freePort();
  const conf = `
daemon off;
master_process off;
user root;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log info;
events { worker_connections 128; }
http {
  client_body_temp_path ${dir}/body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  log_format mesh '$remote_addr "$request" $status serial=$ssl_client_serial verify=$ssl_client_verify';
  access_log ${dir}/access.log mesh;
  server {
    listen 127.0.0.1:${port} ssl http2;
    ssl_certificate ${o.cert ?? o.pki.file('upstream.crt')};
    ssl_certificate_key ${o.key ?? o.pki.file('upstream.key')};
    ssl_client_certificate ${o.pki.file('ca.crt')};
    ssl_verify_client on;
    ssl_protocols TLSv1.2 TLSv1.3;
    location / {
      add_header x-upstream nginx always;
      add_header x-client-serial $ssl_client_serial always;
      add_header x-protocol $server_protocol always;
      return 200 "serial=$ssl_client_serial verify=$ssl_client_verify\\n";
    }
  }
}
`;
  const confFile = join(dir, 'nginx.conf');
  writeFileSync(confFile, conf);
  writeFileSync(join(dir, 'access.log'), '');
  const child: ChildProcess = spawn('/usr/sbin/nginx', ['-p', dir, '-c', confFile, '-e', join(dir, 'error.log')], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (c: Buffer) => (stderr += c.toString()));
  let exited = false;
  child.once('exit', () => (exited = true));
  const errorLog = () => (existsSync(join(dir, 'error.log')) ? readFileSync(join(dir, 'error.log'), 'utf8') : '');
  await eventually(async () => {
    if (exited) throw new Error(`nginx exited: ${stderr}${errorLog()}`);
    return canConnect(port);
  }, 'nginx listening', 15_000);
  return {
    port,
    address: `127.0.0.1:${port}`,
    dir,
    accessLog: () => readFileSync(join(dir, 'access.log'), 'utf8').split('\n').filter((l) => l.length > 0),
    errorLog,
    close: () =>
      new Promise<void>((resolve) => {
        if (exited) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM'); // single-process nginx: SIGTERM is a fast shutdown
      }),
  };
}
