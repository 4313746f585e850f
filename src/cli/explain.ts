import { parseArgs } from 'node:util';
import { resolve } from 'node:path';
import { loadConfigFile, formatConfigError } from '../config/load.ts';
import { compile, CompileError } from '../runtime/compile.ts';
import type { Generation } from '../runtime/generation.ts';
import { explainRequest, ExplainInputError, formatExplanation, parseHeaderArg } from '../admin/explain.ts';

// `gatehouse explain --config FILE [-X METHOD] [-H 'name: value']… [--json] URL`: compiles the config
// as the gateway would (DNS discovery included, no port bound, nothing served) and prints where the
// request would go and why — the same answer as admin GET /explain on a running gateway. Exit 0 when
// a route matches, 1 when none does, 2 for a usage or config error.

const USAGE = "usage: gatehouse explain --config FILE [-X METHOD] [-H 'name: value']... [--json] URL\n";

export async function explainCommand(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      options: {
        config: { type: 'string', short: 'c' },
        request: { type: 'string', short: 'X' },
        header: { type: 'string', short: 'H', multiple: true },
        json: { type: 'boolean' },
      },
      allowPositionals: true,
      strict: true,
    });
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n${USAGE}`);
    return 2;
  }
  const { values, positionals } = parsed;
  if (!values.config || positionals.length !== 1) {
    process.stderr.write(USAGE);
    return 2;
  }
  let headers: Array<[string, string]>;
  try {
    headers = (values.header ?? []).map(parseHeaderArg);
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n${USAGE}`);
    return 2;
  }
  const loaded = await loadConfigFile(values.config);
  if (!loaded.ok) {
    for (const e of loaded.errors) process.stderr.write(`${formatConfigError(e)}\n`);
    return 2;
  }
  let gen: Generation;
  try {
    gen = (await compile(loaded.config, resolve(values.config), 1)).generation;
  } catch (err) {
    if (!(err instanceof CompileError)) throw err;
    for (const e of err.errors) process.stderr.write(`${formatConfigError(e)}\n`);
    return 2;
  }
  try {
    const e = explainRequest(gen, { method: values.request ?? 'GET', url: positionals[0], headers });
    process.stdout.write(values.json ? `${JSON.stringify(e, null, 2)}\n` : formatExplanation(e));
    return e.matched ? 0 : 1;
  } catch (err) {
    if (!(err instanceof ExplainInputError)) throw err;
    process.stderr.write(`${err.message}\n${USAGE}`);
    return 2;
  } finally {
    // What compiling started: pools, discovery and health timers, JWKS fetches, Redis, span export.
    await Promise.all([...gen.clusters.values()].map((c) => c.close()));
    gen.authn.close();
    await gen.rateLimits.close();
    gen.tracing?.close();
  }
}
