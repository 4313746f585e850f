// Per-cluster circuit breaker counters and limits (Envoy's thresholds):
// - maxRequests: requests in flight to the cluster;
// - maxPendingRequests: requests dispatched but not yet on a connection (connecting or queued
//   because every connection of the endpoint is busy);
// - maxConnections: applied per endpoint, as the size of its connection pool (see endpoint.ts);
// - maxRetries: retry attempts in flight to the cluster at once (a retry storm cannot multiply the
//   load on a failing cluster): past it a failed try is answered as it is, not retried.
// Overflow of the first two is answered 503 `circuit_open` at once, never queued.
export class CircuitBreaker {
    limits;
    inflight = 0;
    pending = 0;
    /** Retry attempts in flight (forward.ts counts them). */
    retries = 0;
    constructor(limits) {
        this.limits = limits;
    }
}
