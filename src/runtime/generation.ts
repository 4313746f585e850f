import type { GatewayConfig } from '../config/schema.ts';
import type { HostTable } from '../router/host-table.ts';
import type { Cluster } from '../upstream/cluster.ts';
import type { SniTable } from '../listener/sni.ts';
import type { TrustFn } from '../listener/client-address.ts';
import type { RateLimits } from '../filters/ratelimit/runtime.ts';
import type { AuthnRuntime } from '../filters/authn/runtime.ts';
import type { ConfigOrigins } from '../config/merge.ts';
import type { CompiledVirtualHost } from '../router/types.ts';
import type { SpanExport } from '../observability/tracing/span-export.ts';
import type { CertificateExpiry } from '../observability/request-stats.ts';
import type { ExtAuthzRuntime } from '../filters/ext-authz/runtime.ts';

// A generation: everything compiled from one validated config snapshot. Requests read the current
// generation once (through their listener's view) and use only it, so a reload can never mix configs.

export interface ListenerLimits {
  readonly maxHeaderBytes: number;
  readonly maxBodyBytes: number;
  readonly headersTimeoutMs: number;
  readonly requestTimeoutMs: number;
  readonly idleTimeoutMs: number;
  readonly http2MaxConcurrentStreams: number;
  readonly maxConnections: number;
  readonly headersWithUnderscores: 'reject' | 'drop';
}

export interface CompiledListener {
  readonly name: string;
  readonly host: string;
  readonly port: number;
  /** null for a plain listener (it only redirects to HTTPS). */
  readonly sni: SniTable | null;
  readonly http2: boolean;
  readonly limits: ListenerLimits;
  readonly trust: TrustFn;
  /** For a plain listener: the port of the first TLS listener (redirect target). */
  readonly httpsPort: number;
}

export interface Generation {
  readonly version: number;
  /** The effective config: the YAML file merged with what xDS delivered. */
  readonly config: GatewayConfig;
  /** Which virtual hosts and clusters of `config` came from xDS. */
  readonly origins: ConfigOrigins;
  readonly listeners: ReadonlyMap<string, CompiledListener>;
  readonly hosts: HostTable;
  /** Every compiled virtual host, in config order (the admin API lists their routes). */
  readonly virtualHosts: readonly CompiledVirtualHost[];
  readonly clusters: ReadonlyMap<string, Cluster>;
  /** Rate-limit policies and their store (kept across reloads while unchanged). */
  readonly rateLimits: RateLimits;
  /** Authn providers (JWKS key sets, verified-token caches) and the internal token minter. */
  readonly authn: AuthnRuntime;
  /** External authorization services (gRPC channels, HTTP pools), kept across reloads while unchanged. */
  readonly extAuthz: ExtAuthzRuntime;
  /** Every file the generation was compiled from (config, certificates, keys, CAs): watched for changes. */
  readonly files: readonly string[];
  /** Span export (`tracing`), or null when not configured: the request path's only tracing check. */
  readonly tracing: SpanExport | null;
  /** The certificates in use and when they expire (listener and cluster), for the expiry gauge. */
  readonly certificates: readonly CertificateExpiry[];
  /** Exchanges that started on this generation and have not ended (the one mutable part). */
  readonly usage: GenerationUsage;
}

/**
 * Counts the exchanges that started on a generation. Each exchange routes on the generation it
 * started with (authn, ext_authz and retries may take a while), so a replaced generation's clusters
 * keep their pools until its last exchange ends: `retire(then)` runs `then` at that moment.
 */
export class GenerationUsage {
  private users = 0;
  private drained: (() => void) | null = null;

  enter(): void {
    this.users++;
  }

  leave(): void {
    if (--this.users === 0 && this.drained !== null) {
      const then = this.drained;
      this.drained = null;
      then();
    }
  }

  /** The generation was replaced: `then` runs once no exchange uses it (at once when none does). */
  retire(then: () => void): void {
    if (this.users === 0) then();
    else this.drained = then;
  }
}

/** What a listener's request handler reads once per request: its generation and its own compiled part. */
export interface ListenerView {
  readonly gen: Generation;
  readonly listener: CompiledListener;
}
