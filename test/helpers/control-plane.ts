import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseControlPlaneConfig } from '../../src/controlplane/config.ts';
import { ControlPlane } from '../../src/controlplane/control-plane.ts';
import { log } from '../../src/controlplane/log.ts';
import { BIN, ROOT } from './process.ts';
import { freePort } from './net.ts';
import { testTempDir } from './tmp.ts';

// The control plane for tests: in this process (ControlPlane on free loopback ports), or as a real
// `gatehouse control-plane` child process. `source` is the YAML of its `source:` key.

export interface TestControlPlane {
  cp: ControlPlane;
  xdsAddress: string;
  registry: string;
  close(): Promise<void>;
}

export function controlPlaneYaml(o: { source: string; xdsPort: number; registryPort: number; registryHost?: string; token?: string; extra?: string; xdsTls?: string }): string {
  return `xds: { address: "127.0.0.1:${o.xdsPort}"${o.xdsTls ? `, tls: ${o.xdsTls}` : ''} }
source: ${o.source}
registry: { address: "${o.registryHost ?? '127.0.0.1'}:${o.registryPort}"${o.token ? `, token: "${o.token}"` : ''} }
trustDomain: mesh.local
${o.extra ?? ''}`;
}

export function etcdSource(endpoint: string, prefix = '/gatehouse/'): string {
  return `{ etcd: { endpoints: ["${endpoint}"], prefix: "${prefix}", timeout: 2s } }`;
}

export async function startControlPlane(o: { source: string; registryHost?: string; token?: string; extra?: string; xdsTls?: string }): Promise<TestControlPlane> {
  const [xdsPort, registryPort] = await Promise.all([freePort(), freePort()]);
  const yaml = controlPlaneYaml({ ...o, xdsPort, registryPort });
  const parsed = parseControlPlaneConfig(yaml);
  if (!parsed.ok) throw new Error(parsed.errors.map((e) => `${e.path}: ${e.message}`).join('\n'));
  const cp = new ControlPlane(parsed.config, log);
  await cp.start();
  const host = o.registryHost ?? '127.0.0.1';
  return {
    cp,
    xdsAddress: `127.0.0.1:${cp.xdsPort}`,
    registry: `http://${host.includes(':') ? `[${host}]` : host}:${cp.registryPort}`,
    close: () => cp.stop(),
  };
}

export interface ControlPlaneProcess {
  xdsAddress: string;
  registry: string;
  stderr(): string;
  kill(signal?: NodeJS.Signals): Promise<number | string>;
}

/** `gatehouse control-plane --config FILE` as a child process; resolves once it logs that it serves. */
export async function spawnControlPlane(o: { source: string; token?: string; extra?: string }): Promise<ControlPlaneProcess> {
  const [xdsPort, registryPort] = await Promise.all([freePort(), freePort()]);
  const file = join(testTempDir('gatehouse-cp-'), 'control-plane.yaml');
  writeFileSync(file, controlPlaneYaml({ ...o, xdsPort, registryPort }));
  const child = spawn(process.execPath, [BIN, 'control-plane', '--config', file], {
    cwd: ROOT,
    env: { ...process.env, GATEHOUSE_LOG_LEVEL: 'info' },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let err = '';
  const exited = new Promise<number | string>((r) => child.on('exit', (code, sig) => r(code ?? sig ?? -1)));
  await new Promise<void>((resolve, reject) => {
    child.stderr!.on('data', (d) => {
      err += d;
      if (err.includes('gatehouse control plane serving')) resolve();
    });
    void exited.then((c) => reject(new Error(`control plane exited (${c}) before serving:\n${err}`)));
  });
  return {
    xdsAddress: `127.0.0.1:${xdsPort}`,
    registry: `http://127.0.0.1:${registryPort}`,
    stderr: () => err,
    kill: (signal = 'SIGTERM') => {
      child.kill(signal);
      return exited;
    },
  };
}
