import { spawn, type ChildProcess } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { eventually, freePort } from './net.ts';
import { diesWithTest } from './server-process.ts';

// A real DNS server for discovery tests: Debian's dnsmasq in the foreground on a free loopback UDP
// port, answering only what the test gives it (no /etc/hosts, no upstream resolvers).
//   srv:   --srv-host=<name>,<target>,<port>,<priority>,<weight>
//   hosts: --host-record=<name>,<address>

export interface SrvRecord {
  name: string;
  target: string;
  port: number;
  priority: number;
  weight: number;
}

export interface TestDnsmasq {
  port: number;
  /** "127.0.0.1:<port>" for `dns.servers`. */
  server: string;
  /** With `logQueries`: how many queries for `name` (any type) the server has seen. */
  queries(name: string): number;
  stop(): Promise<void>;
}

/** `port`: reuse a port (a restarted server with new records); default a free one. */
export async function startDnsmasq(o: { srv?: SrvRecord[]; hosts?: Array<{ name: string; address: string }>; ttl?: number; port?: number; logQueries?: boolean }): Promise<TestDnsmasq> {
  const port = o.port ?? (await freeUdpPort());
  const args = [
    '--no-daemon',
    '--port',
    String(port),
    '--listen-address',
    '127.0.0.1',
    '--bind-interfaces',
    '--no-resolv',
    '--no-hosts',
    '--conf-file=/dev/null',
    '--pid-file=',
    '--user=root',
    `--local-ttl=${o.ttl ?? 1}`,
    ...(o.logQueries ? ['--log-queries'] : []),
    ...(o.srv ?? []).map((r) => `--srv-host=${r.name},${r.target},${r.port},${r.priority},${r.weight}`),
    ...(o.hosts ?? []).map((h) => `--host-record=${h.name},${h.address}`),
  ];
  const child: ChildProcess = spawn(...diesWithTest('/usr/sbin/dnsmasq', args), { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (c: Buffer) => (stderr += c.toString()));
  let exited = false;
  child.once('exit', () => (exited = true));
  await eventually(() => {
    if (exited) throw new Error(`dnsmasq exited: ${stderr}`);
    return stderr.includes('started');
  }, 'dnsmasq started', 15_000);
  return {
    port,
    server: `127.0.0.1:${port}`,
    queries: (name) => stderr.split('\n').filter((l) => /query\[[A-Z]+\] /.test(l) && l.includes(`] ${name} from`)).length,
    stop: () =>
      new Promise<void>((resolve) => {
        if (exited) return resolve();
        // Bounded: dnsmasq exits on SIGTERM at once; if it ever does not, SIGKILL after 5 s.
        const kill = setTimeout(() => child.kill('SIGKILL'), 5_000);
        child.once('exit', () => (clearTimeout(kill), resolve()));
        child.kill('SIGTERM');
      }),
  };
}

/** A UDP port that was free a moment ago (freePort() checks TCP; check UDP too). */
async function freeUdpPort(): Promise<number> {
  for (;;) {
    const port = await freePort();
    const ok = await new Promise<boolean>((resolve) => {
      const s = createSocket('udp4');
      s.once('error', () => resolve(false));
      s.bind(port, '127.0.0.1', () => s.close(() => resolve(true)));
    });
    if (ok) return port;
  }
}
