import { upperBound } from "../../util/cumulative.js";
// Weighted random choice over an endpoint list: cumulative weights built on update, a binary search
// per pick. Shared by `random`, by `least_request` (its two candidates) and by the hash balancers
// when a request has no hash key.
export class WeightedRandom {
    endpoints = [];
    cumulative = new Float64Array(0);
    total = 0;
    update(endpoints) {
        this.endpoints = endpoints;
        this.cumulative = new Float64Array(endpoints.length);
        let sum = 0;
        for (let i = 0; i < endpoints.length; i++) {
            sum += Math.max(0, endpoints[i].weight);
            this.cumulative[i] = sum;
        }
        this.total = sum;
    }
    /** Index of a weighted-random endpoint, or -1 when the list is empty or every weight is 0. */
    pickIndex() {
        if (this.total <= 0)
            return -1;
        return upperBound(this.cumulative, Math.random() * this.total);
    }
    /** A weighted-random endpoint other than `exclude` (unless it is the only one left), or null. */
    pick(exclude) {
        const i = this.pickIndex();
        if (i === -1)
            return null;
        const e = this.endpoints[i];
        if (e !== exclude)
            return e;
        // Rare (a retry hit the failed endpoint): take the next one with weight, wrapping around.
        const eps = this.endpoints;
        for (let k = 1; k < eps.length; k++) {
            const o = eps[(i + k) % eps.length];
            if (o !== exclude && o.weight > 0)
                return o;
        }
        return exclude ?? null;
    }
}
