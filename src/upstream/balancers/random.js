import { WeightedRandom } from "./weighted-random.js";
// Weighted random: each pick is independent, endpoint i is chosen with probability w_i / Σw.
export class RandomBalancer {
    wr = new WeightedRandom();
    update(endpoints) {
        this.wr.update(endpoints);
    }
    pick(_ctx, exclude) {
        return this.wr.pick(exclude);
    }
}
