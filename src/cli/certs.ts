/**
 * `gatehouse certs …` — development certificates and short-lived leaf issuance.
 *
 *   gatehouse certs init  [--dir certs] [--ttl 24h] [--trust-domain mesh.local] [--force]
 *   gatehouse certs issue --ca-dir DIR --name N [--out DIR] [--dns H]… [--ip A]… [--spiffe URI]
 *                         [--ttl 24h] [--client|--server]
 *
 * `argv` is what follows `certs` on the command line (a leading "certs" is tolerated).
 * Exit codes: 0 done (the paths written are printed to stdout, one per line); 1 the operation
 * failed or was refused (one line on stderr); 2 bad usage (unknown flag, missing or malformed
 * value — the message and the usage text on stderr).
 */
import { parseArgs } from 'node:util';
import { parseCertDuration } from '../certs/duration.ts';
import {
  DEFAULT_CERTS_DIR,
  DEFAULT_LEAF_TTL_MS,
  DEFAULT_TRUST_DOMAIN,
  initDevCerts,
  issueCert,
} from '../certs/dev-certs.ts';

export interface CliIo {
  out: (line: string) => void;
  err: (line: string) => void;
}

const defaultIo: CliIo = {
  out: (line) => process.stdout.write(line + '\n'),
  err: (line) => process.stderr.write(line + '\n'),
};

export const CERTS_USAGE = `usage:
  gatehouse certs init  [--dir certs] [--ttl 24h] [--trust-domain mesh.local] [--force]
      Writes a development CA and certificates into --dir: ca.crt/ca.key, edge.crt/edge.key
      (localhost, 127.0.0.1, ::1), gatehouse.crt/gatehouse.key (client, SPIFFE
      spiffe://<trust-domain>/ns/edge/sa/gatehouse), upstream.crt/upstream.key (demo upstream,
      spiffe://<trust-domain>/ns/demo/sa/echo) and internal-token.key (EC P-256 signing key).
      Refuses if any of them exists, unless --force. --ttl is the leaf lifetime; the CA lives
      at least 30d.
  gatehouse certs issue --ca-dir DIR --name N [--out DIR] [--dns H]... [--ip A]... [--spiffe URI]
                        [--ttl 24h] [--client|--server]
      Issues one certificate from DIR/ca.crt + DIR/ca.key as <out>/<N>.crt and <out>/<N>.key
      (--out defaults to --ca-dir), replacing existing files atomically (rotation).
      --client / --server restrict the usage; neither (or both) allows both.
Durations: <n>ms|s|m|h|d, combinable (e.g. 24h, 7d, 1h30m).`;

class UsageError extends Error {}

function duration(flag: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const ms = parseCertDuration(value);
  if (ms === null || ms <= 0) throw new UsageError(`--${flag}: invalid duration ${JSON.stringify(value)} (e.g. 24h, 7d, 90m)`);
  return ms;
}

function required(flag: string, value: string | undefined): string {
  if (value === undefined || value === '') throw new UsageError(`--${flag} is required`);
  return value;
}

async function runInit(args: string[], io: CliIo): Promise<number> {
  const { values } = parseArgs({
    args,
    strict: true,
    allowPositionals: false,
    options: {
      dir: { type: 'string' },
      ttl: { type: 'string' },
      'trust-domain': { type: 'string' },
      force: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    io.out(CERTS_USAGE);
    return 0;
  }
  const ttlMs = duration('ttl', values.ttl, DEFAULT_LEAF_TTL_MS);
  const { written } = await initDevCerts({
    dir: values.dir ?? DEFAULT_CERTS_DIR,
    ttlMs,
    trustDomain: values['trust-domain'] ?? DEFAULT_TRUST_DOMAIN,
    force: values.force ?? false,
  });
  for (const p of written) io.out(p);
  return 0;
}

async function runIssue(args: string[], io: CliIo): Promise<number> {
  const { values } = parseArgs({
    args,
    strict: true,
    allowPositionals: false,
    options: {
      'ca-dir': { type: 'string' },
      name: { type: 'string' },
      out: { type: 'string' },
      dns: { type: 'string', multiple: true },
      ip: { type: 'string', multiple: true },
      spiffe: { type: 'string' },
      ttl: { type: 'string' },
      client: { type: 'boolean' },
      server: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    io.out(CERTS_USAGE);
    return 0;
  }
  const caDir = required('ca-dir', values['ca-dir']);
  const name = required('name', values.name);
  const ttlMs = duration('ttl', values.ttl, DEFAULT_LEAF_TTL_MS);
  const usage = values.client && !values.server ? 'client' : values.server && !values.client ? 'server' : 'both';
  const { written, warnings } = await issueCert({
    caDir,
    name,
    out: values.out,
    dns: values.dns ?? [],
    ips: values.ip ?? [],
    spiffe: values.spiffe,
    ttlMs,
    usage,
  });
  for (const w of warnings) io.err(`gatehouse certs issue: warning: ${w}`);
  for (const p of written) io.out(p);
  return 0;
}

function isParseArgsError(err: unknown): err is Error {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS_');
}

export async function certsCommand(argv: string[], io: CliIo = defaultIo): Promise<number> {
  const args = argv[0] === 'certs' ? argv.slice(1) : argv;
  const [sub, ...rest] = args;
  if (sub === undefined || sub === 'help' || sub === '--help' || sub === '-h') {
    (sub === undefined ? io.err : io.out)(CERTS_USAGE);
    return sub === undefined ? 2 : 0;
  }
  try {
    if (sub === 'init') return await runInit(rest, io);
    if (sub === 'issue') return await runIssue(rest, io);
    throw new UsageError(`unknown subcommand ${JSON.stringify(sub)}`);
  } catch (err) {
    if (err instanceof UsageError || isParseArgsError(err)) {
      io.err(`gatehouse certs: ${(err as Error).message}`);
      io.err(CERTS_USAGE);
      return 2;
    }
    const msg = err instanceof Error ? err.message : String(err);
    io.err(`gatehouse certs ${sub}: ${msg.replace(/\s*\n\s*/g, ' ')}`);
    return 1;
  }
}
