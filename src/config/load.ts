/**
 * Loading: YAML text → env substitution → schema → semantic checks → deep-frozen snapshot.
 *
 * Every error is reported at once as `path: message`. The order: YAML syntax errors (nothing else can be
 * checked then), otherwise environment and schema errors together with missing files; the other
 * semantic checks (references, duplicates) only run when the schema passes, since they need a
 * well-typed config; "not supported yet" keys are always reported. A successful result is deep-frozen: it is the immutable snapshot the runtime compiles from.
 *
 * Relative file paths in the config are resolved against the process working directory.
 */
import { readFile } from 'node:fs/promises';
import YAML, { type YAMLError } from 'yaml';
import { substituteEnvInDocument } from './env.ts';
import { ROOT_PATH, type ConfigError } from './errors.ts';
import { gatewayConfigSchema, type GatewayConfig } from './schema.ts';
import { findUnsupported } from './unsupported.ts';
import { checkFilesRaw, validateSemantics } from './validate.ts';
import { humanErrorMap, issuesToErrors } from './zod-errors.ts';
import { deepFreeze } from './merge.ts';

export { formatConfigError, type ConfigError } from './errors.ts';

export type LoadResult = { ok: true; config: GatewayConfig; text: string } | { ok: false; errors: ConfigError[] };

export async function loadConfigFile(file: string, env: NodeJS.ProcessEnv = process.env): Promise<LoadResult> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const message =
      code === 'ENOENT' || code === 'ENOTDIR'
        ? 'file not found'
        : code === 'EISDIR'
          ? 'is a directory, expected a file'
          : code === 'EACCES' || code === 'EPERM'
            ? 'file not readable'
            : `cannot read file (${code ?? String(e)})`;
    return { ok: false, errors: [{ path: file, message }] };
  }
  return loadConfigText(text, env);
}

export async function loadConfigText(text: string, env: NodeJS.ProcessEnv = process.env): Promise<LoadResult> {
  // uniqueKeys: a key given twice is an error, not a silent "last one wins".
  const doc = YAML.parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) return { ok: false, errors: doc.errors.map(yamlError) };

  const envErrors = substituteEnvInDocument(doc, env);

  let tree: unknown;
  try {
    // maxAliasCount guards against alias bombs ("billion laughs").
    tree = doc.toJS({ maxAliasCount: 100 });
  } catch (e) {
    return { ok: false, errors: [{ path: ROOT_PATH, message: e instanceof Error ? e.message : String(e) }] };
  }
  if (tree === null || tree === undefined) {
    return { ok: false, errors: [{ path: ROOT_PATH, message: 'the configuration is empty' }] };
  }

  const unsupported = findUnsupported(tree);
  const parsed = gatewayConfigSchema.safeParse(tree, { error: humanErrorMap });
  if (!parsed.success || envErrors.length > 0) {
    // A value whose variable is missing would also fail its own check; report only the cause.
    const envPaths = new Set(envErrors.map((e) => e.path));
    const schemaErrors = parsed.success ? [] : issuesToErrors(parsed.error.issues).filter((e) => !envPaths.has(e.path));
    // Missing files are reported with the shape errors, not after they are fixed.
    const reported = new Set([...envPaths, ...schemaErrors.map((e) => e.path)]);
    const files = (await checkFilesRaw(tree)).filter((e) => !reported.has(e.path));
    return { ok: false, errors: [...envErrors, ...schemaErrors, ...files, ...unsupported] };
  }

  const semantic = await validateSemantics(parsed.data);
  const errors = [...semantic, ...unsupported];
  if (errors.length > 0) return { ok: false, errors };
  return { ok: true, config: deepFreeze(parsed.data), text };
}

/** `(line 3, col 5): All mapping items must start at the same column` */
function yamlError(e: YAMLError): ConfigError {
  const pos = e.linePos?.[0];
  const first = e.message.split('\n')[0] ?? e.message;
  const message = first.replace(/ at line \d+, column \d+:?$/, '');
  return { path: pos ? `(line ${pos.line}, col ${pos.col})` : ROOT_PATH, message };
}
