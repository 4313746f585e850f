import { spawn, type ChildProcess } from 'node:child_process';
import http from 'node:http';
import { writeFileSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { eventually, freePort } from './net.ts';
import { fillConfig } from './config-text.ts';
import { testTempDir } from './tmp.ts';

// The gateway as a real child process (`node bin/gatehouse.js …`): for signals, exit codes,
// workers and per-process memory.

export const ROOT = resolve(import.meta.dirname, '..', '..');
export const BIN = join(ROOT, 'bin', 'gatehouse.js');

export interface GatewayProcess {
  child: ChildProcess;
  stderr(): string;
  stdout(): string;
  /** Resolves with the exit code (or the signal name). */
  exited: Promise<number | string>;
  kill(signal?: NodeJS.Signals): Promise<number | string>;
}

export function runCli(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolvePromise) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd: ROOT, env: { ...process.env, ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', (code) => resolvePromise({ code: code ?? -1, stdout, stderr }));
  });
}

/** Starts `gatehouse --config FILE [...extra]` and waits until it logs that it is serving. */
export async function spawnGateway(configFile: string, extra: string[] = [], env: NodeJS.ProcessEnv = {}, readyLines = 1): Promise<GatewayProcess> {
  const child = spawn(process.execPath, [BIN, '--config', configFile, ...extra], {
    cwd: ROOT,
    // info: the "gatehouse serving" line is what we wait for (npm test quiets in-process gateways)
    env: { ...process.env, GATEHOUSE_LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout!.on('data', (d) => (out += d));
  const exited = new Promise<number | string>((r) => child.on('exit', (code, sig) => r(code ?? sig ?? -1)));
  await new Promise<void>((resolvePromise, reject) => {
    child.stderr!.on('data', (d) => {
      err += d;
      if (err.split('gatehouse serving').length - 1 >= readyLines) resolvePromise();
    });
    void exited.then((c) => reject(new Error(`gateway exited (${c}) before serving:\n${err}`)));
  });
  return {
    child,
    stderr: () => err,
    stdout: () => out,
    exited,
    kill: (signal = 'SIGTERM') => {
      child.kill(signal);
      return exited;
    },
  };
}

/** Waits until the admin /readyz on `adminPort` answers 200 (under --workers: every worker is ready). */
export function untilReady(adminPort: number): Promise<void> {
  return eventually(async () => {
    try {
      return (await fetch(`http://127.0.0.1:${adminPort}/readyz`)).status === 200;
    } catch {
      return false;
    }
  }, 'gateway process ready', 30_000);
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

/** Writes YAML with {{https}}/{{http}}/{{admin}} replaced by free ports into a temp file. */
export async function writeConfig(yaml: string): Promise<{ file: string; httpsPort: number; httpPort: number; adminPort: number; rewrite(y: string): void }> {
  const [httpsPort, httpPort, adminPort] = await Promise.all([freePort(), freePort(), freePort()]);
  const file = join(testTempDir('gatehouse-cfg-'), 'gateway.yaml');
  const fill = (t: string) => fillConfig(t, { https: httpsPort, http: httpPort, admin: adminPort });
  writeFileSync(file, fill(yaml));
  return { file, httpsPort, httpPort, adminPort, rewrite: (y) => writeFileSync(file, fill(y)) };
}

/** Peak and current resident memory of a process, in bytes (Linux /proc). */
export function memoryOf(pid: number): { rss: number; peak: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (k: string) => Number(new RegExp(`${k}:\\s+(\\d+)`).exec(status)?.[1] ?? 0) * 1024;
  return { rss: kb('VmRSS'), peak: kb('VmHWM') };
}
