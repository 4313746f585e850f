import type { Generation } from '../runtime/generation.ts';
import type { XdsStatus } from '../xds/client.ts';
import type { StatsSource } from '../observability/request-stats.ts';

/** What the admin API and dashboard read of the running gateway (the Gateway implements it). */
export interface AdminState extends StatsSource {
  readonly current: Generation | null;
  readonly ready: boolean;
  readonly draining: boolean;
  /** The overload thresholds are crossed: new requests get 503 `overloaded` (readiness is not changed by it). */
  readonly overloaded: boolean;
  readonly inflight: number;
  readonly lastReloadError: string[] | null;
  /** The xDS client's connection, versions and warming (null without xds). */
  readonly xdsStatus?: (XdsStatus & { readonly lastApplyError?: string[] }) | null;
}
