import { parseArgs } from 'node:util';
import { loadConfigFile, formatConfigError } from '../config/load.ts';
import { compile, CompileError } from '../runtime/compile.ts';
import { resolve } from 'node:path';

// `gatehouse validate --config FILE`: full validation, including what only compiling shows
// (a key that does not match its certificate); prints `ok` or every error as `path: message`.

export async function validateCommand(argv: string[]): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({ args: argv, options: { config: { type: 'string', short: 'c' } }, strict: true }));
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\nusage: gatehouse validate --config FILE\n`);
    return 2;
  }
  if (!values.config) {
    process.stderr.write('usage: gatehouse validate --config FILE\n');
    return 2;
  }
  const loaded = await loadConfigFile(values.config);
  if (!loaded.ok) {
    for (const e of loaded.errors) process.stdout.write(`${formatConfigError(e)}\n`);
    return 1;
  }
  try {
    const { generation } = await compile(loaded.config, resolve(values.config), 1);
    await Promise.all([...generation.clusters.values()].map((c) => c.close()));
    generation.authn.close(); // JWKS fetches and the Redis connection it started
    generation.tracing?.close();
    generation.extAuthz.close(); // gRPC channels connecting to ext_authz services

  } catch (err) {
    if (err instanceof CompileError) {
      for (const e of err.errors) process.stdout.write(`${formatConfigError(e)}\n`);
      return 1;
    }
    throw err;
  }
  process.stdout.write('ok\n');
  return 0;
}
