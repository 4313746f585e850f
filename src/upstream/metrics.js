import { Counter } from 'prom-client';
import { registry } from "../observability/metrics.js";
// Upstream metrics. Per-cluster children are resolved once when a cluster is built (labels() hashes
// its arguments), so the request path only calls inc() on a held handle.
export const dnsFailures = new Counter({
    name: 'gatehouse_dns_resolution_failures_total',
    help: 'DNS/SRV discovery refreshes that failed (the last good endpoints were kept)',
    labelNames: ['cluster'],
    registers: [registry],
});
export const circuitOverflows = new Counter({
    name: 'gatehouse_circuit_breaker_overflow_total',
    help: 'Circuit breaker limits reached: requests refused with 503 (max_requests, max_pending_requests), retries not made (max_retries)',
    labelNames: ['cluster', 'limit'],
    registers: [registry],
});
export const outlierEjections = new Counter({
    name: 'gatehouse_outlier_ejections_total',
    help: 'Endpoints ejected by outlier detection',
    labelNames: ['cluster', 'reason'],
    registers: [registry],
});
export const upstreamConnectErrors = new Counter({
    name: 'gatehouse_upstream_connect_errors_total',
    help: 'Upstream requests that failed to connect (including TLS handshake and SAN mismatch)',
    labelNames: ['cluster'],
    registers: [registry],
});
export const healthCheckFailures = new Counter({
    name: 'gatehouse_health_check_failures_total',
    help: 'Active health checks that failed',
    labelNames: ['cluster'],
    registers: [registry],
});
export function clusterMetrics(cluster) {
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
