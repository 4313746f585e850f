import type { GatewayErrorSpec } from '../errors.ts';
import { Errors } from '../errors.ts';
import type { Cluster } from './cluster.ts';
import type { Endpoint } from './endpoint.ts';
import type { PickContext } from './balancers/index.ts';
import type { HashSource } from './hash-key.ts';

// What the forward path tells a cluster about one upstream call, in three steps, so the circuit
// breaker counters and outlier detection stay in this folder and forward.ts only calls:
//   admitUpstream()     before dispatch: circuit breaker check (false → answer 503 circuit_open)
//   upstreamConnected() when the request got a connection (it stops being "pending")
//   upstreamResponded() when the response head arrives (its status feeds outlier detection)
//   upstreamFinished()  when the call ends, with the gateway error it failed with, if any

const NO_KEY: PickContext = { hashKey: undefined };

/** The balancer context of a request: a hash key only for ring_hash/maglev clusters. */
export function pickContext(cluster: Cluster, src: HashSource): PickContext {
  const f = cluster.hashKey;
  return f === null ? NO_KEY : { hashKey: f(src) };
}

export function admitUpstream(cluster: Cluster, endpoint: Endpoint): boolean {
  const b = cluster.breaker;
  if (b.inflight >= b.limits.maxRequests) {
    cluster.metrics.overflowRequests.inc();
    return false;
  }
  if (b.pending >= b.limits.maxPendingRequests) {
    cluster.metrics.overflowPending.inc();
    return false;
  }
  b.inflight++;
  b.pending++;
  endpoint.active++;
  return true;
}

export function upstreamConnected(cluster: Cluster): void {
  cluster.breaker.pending--;
}

export function upstreamResponded(cluster: Cluster, endpoint: Endpoint, status: number): void {
  const o = cluster.outlier;
  if (o === null) return;
  if (status >= 500) o.serverError(endpoint, status);
  else o.success(endpoint);
}

/**
 * `connected`: whether upstreamConnected() was called for this call. `failure`: the gateway error
 * the call ended with (null on success or when the client went away first).
 */
export function upstreamFinished(
  cluster: Cluster,
  endpoint: Endpoint,
  connected: boolean,
  failure: GatewayErrorSpec | null,
): void {
  const b = cluster.breaker;
  b.inflight--;
  if (!connected) b.pending--;
  endpoint.active--;
  if (failure === null || failure.status < 500) return;
  if (failure === Errors.upstreamConnectFailure) cluster.metrics.connectErrors.inc();
  cluster.outlier?.gatewayError(endpoint);
}
