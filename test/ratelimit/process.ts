import { spawn, type ChildProcess } from 'node:child_process';
import http from 'node:http';
import { fileURLToPath } from 'node:url';
import { eventually } from '../helpers/net.ts';

// A gateway in its own process (`node bin/gatehouse.js --config FILE [--workers N]`), for tests that
// need separate processes: replicas sharing Redis, workers sharing one memory count.

const BIN = fileURLToPath(new URL('../../bin/gatehouse.js', import.meta.url));

export interface GatewayProcess {
  proc: ChildProcess;
  /** Everything the process wrote to stderr so far (its own log lines). */
  stderr(): string;
  stop(): Promise<void>;
}

export async function spawnGateway(configFile: string, adminPort: number, args: string[] = []): Promise<GatewayProcess> {
  // info level: tests read its "serving" and Redis outage/recovery lines
  const proc = spawn(process.execPath, [BIN, '--config', configFile, ...args], {
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, GATEHOUSE_LOG_LEVEL: 'info' },
  });
  let err = '';
  proc.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<void>((r) => proc.once('exit', () => r()));
  const stop = async () => {
    if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGTERM');
    await exited;
  };
  try {
    await eventually(async () => {
      if (proc.exitCode !== null) throw new Error(`gateway exited: ${err}`);
      try {
        return (await fetch(`http://127.0.0.1:${adminPort}/readyz`)).status === 200;
      } catch {
        return false;
      }
    }, 'gateway process ready', 30_000);
  } catch (e) {
    await stop();
    throw e;
  }
  return { proc, stderr: () => err, stop };
}

/** A sample's value from admin /metrics; `series` is a name, or a name with its labels as printed. */
export async function metric(adminPort: number, series: string): Promise<number | null> {
  // A new connection each time (no keep-alive). Under --workers the primary answers, for the whole group.
  const text = await new Promise<string>((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port: adminPort, path: '/metrics', agent: false }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () => resolve(body));
      })
      .on('error', reject);
  });
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? null : Number(line.slice(line.lastIndexOf(' ') + 1));
}
