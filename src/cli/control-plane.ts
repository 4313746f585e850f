import { parseArgs } from 'node:util';
import { formatConfigError } from '../config/errors.ts';
import { loadControlPlaneConfig } from '../controlplane/config.ts';
import { ControlPlane } from '../controlplane/control-plane.ts';
import { log } from '../controlplane/log.ts';

// `gatehouse control-plane --config FILE`: the companion control plane (a separate process; see
// src/controlplane/). Bad config → every error as `path: message`, exit 1. SIGTERM/SIGINT stop it.

const USAGE = 'usage: gatehouse control-plane --config FILE\n';

export async function controlPlaneCommand(argv: string[]): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({ args: argv, options: { config: { type: 'string', short: 'c' } }, strict: true }));
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n${USAGE}`);
    return 2;
  }
  if (!values.config) {
    process.stderr.write(USAGE);
    return 2;
  }
  const loaded = await loadControlPlaneConfig(values.config);
  if (!loaded.ok) {
    for (const e of loaded.errors) process.stderr.write(`${formatConfigError(e)}\n`);
    return 1;
  }
  const cp = new ControlPlane(loaded.config, log);
  try {
    await cp.start();
  } catch (err) {
    process.stderr.write(`gatehouse control-plane: ${(err as Error).message}\n`);
    await cp.stop();
    return 1;
  }
  return new Promise<number>((resolve) => {
    const stop = (signal: NodeJS.Signals) => {
      log.info({ signal }, 'control plane stopping');
      void cp.stop().then(() => resolve(0));
    };
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
  });
}
