// Smooth weighted round robin (as nginx does): every pick adds each endpoint's weight to its
// current score and takes the highest, then subtracts the total from the winner. Spreads a 3:1
// weighting as a,a,b,a rather than a,a,a,b. That is a scan of the list per pick, so the common case
// of equal weights takes a plain rotating index instead: O(1) at any cluster size.
export class RoundRobinBalancer {
    endpoints = [];
    scores = new Float64Array(0);
    /** All weights equal (and > 0): rotate instead of scoring. */
    uniform = false;
    next = 0;
    update(endpoints) {
        this.endpoints = endpoints;
        this.scores = new Float64Array(endpoints.length);
        const w = endpoints.length > 0 ? endpoints[0].weight : 0;
        this.uniform = w > 0 && endpoints.every((e) => e.weight === w);
        this.next = endpoints.length > 0 ? this.next % endpoints.length : 0;
    }
    pick(_ctx, exclude) {
        const eps = this.endpoints;
        if (this.uniform) {
            const n = eps.length;
            let i = this.next;
            this.next = i + 1 === n ? 0 : i + 1;
            if (eps[i] === exclude && n > 1) {
                i = this.next;
                this.next = i + 1 === n ? 0 : i + 1;
            }
            return eps[i];
        }
        const scores = this.scores;
        let best = -1;
        let total = 0;
        for (let i = 0; i < eps.length; i++) {
            const e = eps[i];
            if (e === exclude || e.weight <= 0)
                continue;
            scores[i] += e.weight;
            total += e.weight;
            if (best === -1 || scores[i] > scores[best])
                best = i;
        }
        if (best === -1)
            return exclude ?? null;
        scores[best] -= total;
        return eps[best];
    }
}
