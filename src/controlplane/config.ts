/**
 * The control plane's own config file (SPEC "Control plane and service registry"): YAML, `${ENV}`
 * substitution, a strict zod schema, every error at once as `path: message` — the same grammar and
 * error style as the gateway's config, through the shared leaf modules of src/config/ (errors,
 * zod-errors, env, duration, checks). Nothing else of the gateway is imported.
 */
import { readFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { isIP } from 'node:net';
import YAML from 'yaml';
import { z } from 'zod';
import { ROOT_PATH, type ConfigError } from '../config/errors.ts';
import { humanErrorMap, issuesToErrors } from '../config/zod-errors.ts';
import { substituteEnvInDocument } from '../config/env.ts';
import { parseDuration } from '../config/duration.ts';
import { parseHostPort, type HostPort } from '../config/checks.ts';

const text = () => z.string().min(1);

const hostPort = () =>
  text().transform((s, ctx): HostPort => {
    const hp = parseHostPort(s);
    if (typeof hp === 'string') {
      ctx.addIssue({ code: 'custom', message: hp });
      return z.NEVER;
    }
    return hp;
  });

/** A file the control plane itself reads (resolved against the working directory). */
const localFile = () => text().transform((p) => path.resolve(p));

function duration(def: string) {
  return z
    .string()
    .transform((s, ctx) => {
      const ms = parseDuration(s);
      if (ms === null || ms === 0) {
        ctx.addIssue({ code: 'custom', message: `invalid duration ${JSON.stringify(s)} (use e.g. 500ms, 2s, 1m)` });
        return z.NEVER;
      }
      return ms;
    })
    .default(parseDuration(def)!);
}

const etcdEndpoint = () =>
  text().superRefine((s, ctx) => {
    if (!/^https?:\/\/[^/\s]+$/.test(s)) ctx.addIssue({ code: 'custom', message: 'expected a URL like http://127.0.0.1:2379' });
  });

const etcdSourceSchema = z.strictObject({
  endpoints: z.array(etcdEndpoint()).min(1),
  /** Every key of the registry lives under it: `<prefix>services/<name>`, `<prefix>instances/…`. */
  prefix: text()
    .refine((p) => p.endsWith('/'), 'must end with /')
    .default('/gatehouse/'),
  /** How long one etcd call may take before etcd counts as unreachable. */
  timeout: duration('3s'),
  /** TLS to etcd (https:// endpoints): the CA that signs etcd's certificate, and an optional client pair. */
  tls: z
    .strictObject({ caFile: localFile(), certFile: localFile().optional(), keyFile: localFile().optional() })
    .refine((t) => (t.certFile === undefined) === (t.keyFile === undefined), 'certFile and keyFile go together')
    .optional(),
  auth: z.strictObject({ username: text(), password: text() }).optional(),
});

const sourceSchema = z
  .strictObject({ etcd: etcdSourceSchema.optional(), file: localFile().optional() })
  .superRefine((s, ctx) => {
    const n = (s.etcd ? 1 : 0) + (s.file ? 1 : 0);
    if (n !== 1) ctx.addIssue({ code: 'custom', message: 'exactly one of etcd, file is required' });
  });

const serverTlsSchema = z.strictObject({
  certFile: localFile(),
  keyFile: localFile(),
  /** When set, clients must present a certificate signed by this CA (mutual TLS). */
  caFile: localFile().optional(),
});

export const controlPlaneConfigSchema = z
  .strictObject({
    xds: z.strictObject({ address: hostPort(), tls: serverTlsSchema.optional() }),
    source: sourceSchema,
    registry: z
      .strictObject({ address: hostPort(), token: text().optional() })
      .superRefine((r, ctx) => {
        if (!isLoopbackHost(r.address.host) && r.token === undefined) {
          ctx.addIssue({ code: 'custom', path: ['token'], message: 'required when registry.address is not a loopback address' });
        }
      }),
    /** Fills a service's `identity` when it gives none: spiffe://<trustDomain>/ns/<namespace>/sa/<name>. */
    trustDomain: text()
      .regex(/^[a-z0-9.-]+$/, 'expected a trust domain like mesh.local')
      .default('mesh.local'),
    /**
     * Paths on the GATEWAY's machine, written into every compiled cluster's UpstreamTlsContext; the
     * control plane never reads them (so they are not resolved or checked here).
     */
    clusterTls: z
      .strictObject({
        certFile: text().default('certs/gatehouse.crt'),
        keyFile: text().default('certs/gatehouse.key'),
        caFile: text().default('certs/ca.crt'),
      })
      .default({ certFile: 'certs/gatehouse.crt', keyFile: 'certs/gatehouse.key', caFile: 'certs/ca.crt' }),
  });

export type ControlPlaneConfig = z.output<typeof controlPlaneConfigSchema>;

export function isLoopbackHost(host: string): boolean {
  if (host === 'localhost') return true;
  if (isIP(host) === 4) return host.startsWith('127.');
  return host === '::1';
}

export type ControlPlaneConfigResult = { ok: true; config: ControlPlaneConfig } | { ok: false; errors: ConfigError[] };

export async function loadControlPlaneConfig(file: string, env: NodeJS.ProcessEnv = process.env): Promise<ControlPlaneConfigResult> {
  let source: string;
  try {
    source = await readFile(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    return { ok: false, errors: [{ path: file, message: code === 'ENOENT' ? 'file not found' : `cannot read file (${code ?? String(e)})` }] };
  }
  return parseControlPlaneConfig(source, env);
}

export function parseControlPlaneConfig(source: string, env: NodeJS.ProcessEnv = process.env): ControlPlaneConfigResult {
  const doc = YAML.parseDocument(source, { prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    return {
      ok: false,
      errors: doc.errors.map((e) => {
        const pos = e.linePos?.[0];
        return { path: pos ? `(line ${pos.line}, col ${pos.col})` : ROOT_PATH, message: (e.message.split('\n')[0] ?? e.message).replace(/ at line \d+, column \d+:?$/, '') };
      }),
    };
  }
  const envErrors = substituteEnvInDocument(doc, env);
  let tree: unknown;
  try {
    tree = doc.toJS({ maxAliasCount: 100 });
  } catch (e) {
    return { ok: false, errors: [{ path: ROOT_PATH, message: (e as Error).message }] };
  }
  if (tree === null || tree === undefined) return { ok: false, errors: [{ path: ROOT_PATH, message: 'the configuration is empty' }] };
  const parsed = controlPlaneConfigSchema.safeParse(tree, { error: humanErrorMap });
  if (!parsed.success || envErrors.length > 0) {
    const envPaths = new Set(envErrors.map((e) => e.path));
    const schemaErrors = parsed.success ? [] : issuesToErrors(parsed.error.issues).filter((e) => !envPaths.has(e.path));
    return { ok: false, errors: [...envErrors, ...schemaErrors] };
  }
  const missing = missingFiles(parsed.data);
  if (missing.length > 0) return { ok: false, errors: missing };
  return { ok: true, config: parsed.data };
}

/** The files the control plane itself reads must exist (the registry file may not: the first write creates it). */
function missingFiles(c: ControlPlaneConfig): ConfigError[] {
  const files: Array<[string, string | undefined]> = [
    ['xds.tls.certFile', c.xds.tls?.certFile],
    ['xds.tls.keyFile', c.xds.tls?.keyFile],
    ['xds.tls.caFile', c.xds.tls?.caFile],
    ['source.etcd.tls.caFile', c.source.etcd?.tls?.caFile],
    ['source.etcd.tls.certFile', c.source.etcd?.tls?.certFile],
    ['source.etcd.tls.keyFile', c.source.etcd?.tls?.keyFile],
  ];
  return files.filter(([, f]) => f !== undefined && !existsSync(f)).map(([path]) => ({ path, message: 'file not found' }));
}
