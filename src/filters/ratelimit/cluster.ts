import { RateLimiterClusterMaster } from 'rate-limiter-flexible';

// `--workers N` with the memory store: the workers' RateLimiterCluster limiters keep their counts
// in the primary, which answers them over the cluster IPC channel. Call once in the primary before
// forking; it only listens for the workers' messages (cheap when no policy uses it).
export function startRateLimitPrimary(): void {
  new RateLimiterClusterMaster();
}
