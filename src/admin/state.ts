import type { Generation } from '../runtime/generation.ts';

/** What the admin API and dashboard read of the running gateway (the Gateway implements it). */
export interface AdminState {
  readonly current: Generation | null;
  readonly ready: boolean;
  readonly draining: boolean;
  /** The overload thresholds are crossed: new requests get 503 `overloaded` (readiness is not changed by it). */
  readonly overloaded: boolean;
  readonly inflight: number;
  readonly lastReloadError: string[] | null;
}
