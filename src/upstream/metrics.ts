import { Counter } from 'prom-client';
import { registry } from '../observability/metrics.ts';

// Upstream metrics. Per-cluster children are resolved once when a cluster is built (labels() hashes
// its arguments), so the request path only calls inc() on a held handle.

export const dnsFailures = new Counter({
  name: 'gatehouse_dns_resolution_failures_total',
  help: 'DNS/SRV discovery refreshes that failed (the last good endpoints were kept)',
  labelNames: ['cluster'] as const,
  registers: [registry],
});

export const circuitOverflows = new Counter({
  name: 'gatehouse_circuit_breaker_overflow_total',
  help: 'Circuit breaker limits reached: requests refused with 503 (max_requests, max_pending_requests), retries not made (max_retries)',
  labelNames: ['cluster', 'limit'] as const,
  registers: [registry],
});

export const outlierEjections = new Counter({
  name: 'gatehouse_outlier_ejections_total',
  help: 'Endpoints ejected by outlier detection',
  labelNames: ['cluster', 'reason'] as const,
  registers: [registry],
});

export const upstreamConnectErrors = new Counter({
  name: 'gatehouse_upstream_connect_errors_total',
  help: 'Upstream requests that failed to connect (including TLS handshake and SAN mismatch)',
  labelNames: ['cluster'] as const,
  registers: [registry],
});

export const healthCheckFailures = new Counter({
  name: 'gatehouse_health_check_failures_total',
  help: 'Active health checks that failed',
  labelNames: ['cluster'] as const,
  registers: [registry],
});

export interface ClusterMetrics {
  readonly dnsFailures: Counter.Internal;
  readonly overflowRequests: Counter.Internal;
  readonly overflowPending: Counter.Internal;
  /** A retry not made because `maxRetries` retries were already in flight (the request was not refused). */
  readonly overflowRetries: Counter.Internal;
  readonly ejections5xx: Counter.Internal;
  readonly ejectionsGateway: Counter.Internal;
  readonly connectErrors: Counter.Internal;
  readonly healthCheckFailures: Counter.Internal;
}

/** A cluster name left the config: its series leave /metrics (a later cluster of that name starts at 0). */
export function retireClusterMetrics(cluster: string): void {
  dnsFailures.remove({ cluster });
  for (const limit of ['max_requests', 'max_pending_requests', 'max_retries']) circuitOverflows.remove({ cluster, limit });
  for (const reason of ['consecutive_5xx', 'consecutive_gateway_errors']) outlierEjections.remove({ cluster, reason });
  upstreamConnectErrors.remove({ cluster });
  healthCheckFailures.remove({ cluster });
}

export function clusterMetrics(cluster: string): ClusterMetrics {
  return {
    dnsFailures: dnsFailures.labels({ cluster }),
    overflowRequests: circuitOverflows.labels({ cluster, limit: 'max_requests' }),
    overflowPending: circuitOverflows.labels({ cluster, limit: 'max_pending_requests' }),
    overflowRetries: circuitOverflows.labels({ cluster, limit: 'max_retries' }),
    ejections5xx: outlierEjections.labels({ cluster, reason: 'consecutive_5xx' }),
    ejectionsGateway: outlierEjections.labels({ cluster, reason: 'consecutive_gateway_errors' }),
    connectErrors: upstreamConnectErrors.labels({ cluster }),
    healthCheckFailures: healthCheckFailures.labels({ cluster }),
  };
}
