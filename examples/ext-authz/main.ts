import { readFileSync } from 'node:fs';
import { startAuthzService, type ApiKey } from './service.ts';

// Runs the example ext_authz service from environment variables (see README.md):
//   node --import tsx examples/ext-authz/main.ts

function env(name: string, fallback?: string): string {
  const v = process.env[name] ?? fallback;
  if (v === undefined || v === '') {
    process.stderr.write(`ext-authz example: ${name} is required (see examples/ext-authz/README.md)\n`);
    process.exit(2);
  }
  return v;
}

const apiKeys: ApiKey[] = process.env.API_KEYS_FILE ? JSON.parse(readFileSync(process.env.API_KEYS_FILE, 'utf8')) : [];
const edgeIssuer = process.env.EDGE_ISSUER;
const running = await startAuthzService({
  address: env('LISTEN', '127.0.0.1:9191'),
  apiKeys,
  ...(edgeIssuer
    ? {
        edge: {
          issuer: edgeIssuer,
          audience: env('EDGE_AUDIENCE'),
          ...(process.env.EDGE_JWKS_FILE
            ? { jwks: JSON.parse(readFileSync(process.env.EDGE_JWKS_FILE, 'utf8')) }
            : { jwksUri: env('EDGE_JWKS_URI') }),
        },
      }
    : {}),
  signingKeyPem: readFileSync(env('SIGNING_KEY_FILE'), 'utf8'),
  internalIssuer: env('INTERNAL_ISSUER', 'https://ext-authz.internal'),
  internalAudience: env('INTERNAL_AUDIENCE', 'mesh'),
  header: env('INTERNAL_TOKEN_HEADER', 'x-internal-token'),
  ...(process.env.REDIS_URL ? { redisUrl: process.env.REDIS_URL } : {}),
});
process.stderr.write(`ext-authz example listening on port ${running.port}\n`);
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => void running.stop().then(() => process.exit(0)));
