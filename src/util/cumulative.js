// Weighted choice over a cumulative-weight table: the first index whose cumulative weight exceeds
// `x` (binary search, O(log n)). Shared by the weighted split (router) and the weighted-random
// balancer (upstream), which differ only in what they choose.
export function upperBound(cumulative, x) {
    let lo = 0;
    let hi = cumulative.length - 1;
    while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if (cumulative[mid] > x)
            hi = mid;
        else
            lo = mid + 1;
    }
    return lo;
}
