import type { ServingStatus } from '../../health/health-statuses.ts';

// What the primary and its workers say to each other over node:cluster's IPC channel. Every message
// carries `gatehouse: <kind>`, apart from prom-client's metric requests (`type: prom-client:…`) and
// rate-limiter-flexible's cluster limiter messages, which share the channel.

/** Worker → primary, on every change of its health and once a second: the whole state, idempotent. */
export interface WorkerHealthMessage {
  gatehouse: 'health';
  /** The worker's grpc.health.v1 statuses ("" and cluster:<name>). */
  services: Array<[string, ServingStatus]>;
  /** Config version it serves (null before the first). */
  version: number | null;
  draining: boolean;
  /** Its current drain timings, so the primary can bound how long a group drain may take. */
  drain: { delay: number; timeout: number };
}

/** Primary → worker: an admin request for the worker's API (config, clusters, dashboard…). */
export interface AdminRequestMessage {
  gatehouse: 'admin-request';
  id: number;
  method: string;
  url: string;
  headers: Record<string, string | string[]>;
  remoteAddress: string;
  /** Base64 request body, if any. */
  body: string;
}

/** Worker → primary: the answer to an AdminRequestMessage. */
export interface AdminResponseMessage {
  gatehouse: 'admin-response';
  id: number;
  status: number;
  headers: Record<string, string | string[]>;
  /** Base64 body. */
  body: string;
}

/** Primary → worker: drain and exit (SIGTERM/SIGINT reached the primary). */
export interface DrainMessage {
  gatehouse: 'drain';
  signal: 'SIGTERM' | 'SIGINT';
}

/** Primary → worker: re-read the config (SIGHUP reached the primary). */
export interface ReloadMessage {
  gatehouse: 'reload';
}

export type ToWorker = AdminRequestMessage | DrainMessage | ReloadMessage;
export type ToPrimary = WorkerHealthMessage | AdminResponseMessage;

export function isGatehouseMessage<T extends { gatehouse: string }>(m: unknown): m is T {
  return typeof m === 'object' && m !== null && typeof (m as { gatehouse?: unknown }).gatehouse === 'string';
}
