import type { Generation } from '../runtime/generation.ts';

/** What the admin API and dashboard read of the running gateway (the Gateway implements it). */
export interface AdminState {
  readonly current: Generation | null;
  readonly ready: boolean;
  readonly draining: boolean;
  readonly inflight: number;
  readonly lastReloadError: string[] | null;
}
