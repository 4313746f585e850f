import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { ConfigError } from '../../config/load.ts';
import type { ExtAuthzConfig, GatewayConfig } from '../../config/schema.ts';
import type { Closeable } from '../authn/runtime.ts';
import type { RequestFilter } from '../filter.ts';
import { isManaged } from './decision.ts';
import { ExtAuthzFilter } from './filter.ts';
import type { GrpcTls } from './grpc-service.ts';
import { HttpAuthzService } from './http-service.ts';
import type { AuthzService } from './service.ts';

// The ext_authz part of a generation: one service (gRPC channel or HTTP pool) per distinct service
// config, keyed by a fingerprint of that config and the TLS files it reads, shared by every route that
// names it and taken over from the previous generation while unchanged — a reload keeps its warm
// connection. Retired services close once the checks they may still be running are over.

export interface ExtAuthzRuntime {
  /** Services by fingerprint. */
  readonly services: ReadonlyMap<string, AuthzService>;
  /** The longest check timeout of its routes: how long its checks may still run after it is replaced. */
  readonly maxTimeoutMs: number;
  /** The filter for a route's effective extAuthz (its own, else its virtual host's); null if it failed to build. */
  filterFor(cfg: ExtAuthzConfig, virtualHost: string, route: string): RequestFilter | null;
  /** Closes every service now (shutdown). */
  close(): void;
}

export interface ExtAuthzCompiled {
  readonly runtime: ExtAuthzRuntime;
  /** Services of the previous generation this one does not use: close after the swap. */
  readonly retired: Closeable[];
  /** Created by this compile (close them if the compile fails). */
  readonly created: Closeable[];
}

/** How long a retired service stays open after the swap, beyond the longest timeout that used it. */
const RETIRE_MARGIN_MS = 1_000;

function fingerprint(...parts: Array<string | Buffer | null>): string {
  const h = createHash('sha256');
  for (const p of parts) h.update(p ?? '\0').update('\x1f');
  return h.digest('hex');
}

/** Every extAuthz of the config (virtual hosts, then their routes) with its config path. */
function configs(config: GatewayConfig): Array<{ path: string; cfg: ExtAuthzConfig }> {
  const out: Array<{ path: string; cfg: ExtAuthzConfig }> = [];
  config.virtualHosts.forEach((vh, v) => {
    if (vh.extAuthz) out.push({ path: `virtualHosts[${v}].extAuthz`, cfg: vh.extAuthz });
    vh.routes.forEach((r, k) => {
      if (r.extAuthz) out.push({ path: `virtualHosts[${v}].routes[${k}].extAuthz`, cfg: r.extAuthz });
    });
  });
  return out;
}

async function readOptional(file: string | undefined, path: string, errors: ConfigError[]): Promise<Buffer | null | undefined> {
  if (file === undefined) return null;
  try {
    return await readFile(file);
  } catch (err) {
    errors.push({ path, message: `cannot read: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}` });
    return undefined;
  }
}

/** The service's fingerprint and a way to build it, or null (errors reported). */
async function describe(
  cfg: ExtAuthzConfig,
  path: string,
  errors: ConfigError[],
): Promise<{ fp: string; build: () => AuthzService | Promise<AuthzService> } | null> {
  if (cfg.http) {
    const http = cfg.http;
    const before = errors.length;
    if (new URL(http.url).search !== '') {
      errors.push({ path: `${path}.http.url`, message: 'must not have a query (the request path and query are appended to it)' });
    }
    for (const [key, list] of [['headersToServer', http.headersToServer], ['headersFromServer', http.headersFromServer]] as const) {
      list.forEach((h, i) => {
        if (isManaged(h.toLowerCase())) errors.push({ path: `${path}.http.${key}[${i}]`, message: `header "${h}" is managed by the gateway` });
      });
    }
    if (errors.length > before) return null;
    const fp = fingerprint('http', JSON.stringify(http));
    return { fp, build: () => new HttpAuthzService(fp, http) };
  }
  const grpcCfg = cfg.grpc!;
  const t = grpcCfg.tls;
  let tls: GrpcTls | null = null;
  if (t) {
    const [ca, cert, key] = await Promise.all([
      readOptional(t.caFile, `${path}.grpc.tls.caFile`, errors),
      readOptional(t.certFile, `${path}.grpc.tls.certFile`, errors),
      readOptional(t.keyFile, `${path}.grpc.tls.keyFile`, errors),
    ]);
    if (ca === undefined || cert === undefined || key === undefined) return null;
    tls = { ca, cert, key, serverName: t.serverName };
  }
  const fp = fingerprint('grpc', JSON.stringify(grpcCfg), tls?.ca ?? null, tls?.cert ?? null, tls?.key ?? null);
  return {
    fp,
    // grpc-js and Envoy's protos are loaded only when a gRPC service is configured
    build: async () => new (await import('./grpc-service.ts')).GrpcAuthzService(fp, grpcCfg.address, tls),
  };
}

export async function compileExtAuthz(
  config: GatewayConfig,
  previous: ExtAuthzRuntime | undefined,
  errors: ConfigError[],
): Promise<ExtAuthzCompiled> {
  const services = new Map<string, AuthzService>();
  const byConfig = new Map<ExtAuthzConfig, AuthzService>();
  const created: AuthzService[] = [];
  const all = configs(config);
  for (const { path, cfg } of all) {
    const d = await describe(cfg, path, errors);
    if (d === null) continue;
    let service = services.get(d.fp) ?? previous?.services.get(d.fp);
    if (!service) {
      try {
        service = await d.build();
      } catch (err) {
        errors.push({ path: cfg.grpc ? `${path}.grpc` : `${path}.http`, message: (err as Error).message });
        continue;
      }
      created.push(service);
    }
    services.set(d.fp, service);
    byConfig.set(cfg, service);
  }

  const runtime: ExtAuthzRuntime = Object.freeze({
    services,
    maxTimeoutMs: Math.max(0, ...all.map((c) => c.cfg.timeout)),
    filterFor(cfg: ExtAuthzConfig, virtualHost: string, route: string): RequestFilter | null {
      const service = byConfig.get(cfg);
      if (!service) return null;
      return new ExtAuthzFilter(service, {
        timeoutMs: cfg.timeout,
        failureModeAllow: cfg.failureModeAllow,
        maxBodyBytes: cfg.withRequestBody?.maxBytes ?? null,
        check: {
          contextExtensions: Object.freeze({ ...cfg.contextExtensions, route, virtualHost }),
          packAsBytes: cfg.withRequestBody?.packAsBytes ?? false,
        },
      });
    },
    close() {
      for (const s of services.values()) s.close();
    },
  });

  const retired: Closeable[] = [];
  if (previous) {
    // Checks started on the old generation may run until their timeout: close after the longest one.
    const grace = previous.maxTimeoutMs + RETIRE_MARGIN_MS;
    for (const [fp, s] of previous.services) if (services.get(fp) !== s) retired.push({ close: () => s.close(grace) });
  }
  return { runtime, retired, created: created.map((s) => ({ close: () => s.close() })) };
}
