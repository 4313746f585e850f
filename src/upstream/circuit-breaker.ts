// Per-cluster circuit breaker counters and limits (Envoy's thresholds):
// - maxRequests: requests in flight to the cluster;
// - maxPendingRequests: requests dispatched but not yet on a connection (connecting or queued
//   because every connection of the endpoint is busy);
// - maxConnections: applied per endpoint, as the size of its connection pool (see endpoint.ts).
// Overflow is answered 503 `circuit_open` at once, never queued.

export interface CircuitBreakerLimits {
  readonly maxConnections: number;
  readonly maxPendingRequests: number;
  readonly maxRequests: number;
}

export class CircuitBreaker {
  inflight = 0;
  pending = 0;
  constructor(readonly limits: CircuitBreakerLimits) {}
}
