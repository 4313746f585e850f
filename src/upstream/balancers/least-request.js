import { WeightedRandom } from "./weighted-random.js";
// Least request, power of two choices: draw two candidates (weighted random), send to the one with
// fewer requests in flight relative to its weight (active / weight); on a tie the first draw wins,
// so an idle cluster is spread exactly by weight. O(1) per pick, and it avoids the herd that
// "pick the global minimum" causes when many picks see the same counts.
export class LeastRequestBalancer {
    wr = new WeightedRandom();
    endpoints = [];
    update(endpoints) {
        this.endpoints = endpoints;
        this.wr.update(endpoints);
    }
    pick(_ctx, exclude) {
        if (this.endpoints.length <= 1)
            return this.wr.pick(exclude);
        const a = this.wr.pick(exclude);
        if (a === null)
            return null;
        let b = this.wr.pick(exclude);
        // A second distinct candidate when there is one (two draws of the same endpoint decide nothing).
        for (let tries = 0; b === a && tries < 3; tries++)
            b = this.wr.pick(exclude);
        if (b === null || b === a)
            return a;
        return b.active / b.weight < a.active / a.weight ? b : a;
    }
}
