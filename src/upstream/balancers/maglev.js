import { hash32 } from "../../util/hash.js";
import { WeightedRandom } from "./weighted-random.js";
// Maglev (Eisenbud et al., NSDI 2016): a lookup table of prime size M; each endpoint walks its own
// permutation (offset + j·skip mod M) and claims free slots in turn, so every endpoint gets ~M·w/Σw
// slots and a change of the set moves few of them. A pick is one hash and one array read.
// Weighted as Envoy does: an endpoint takes a turn in a round only when its accumulated
// weight/maxWeight credit reaches 1. No hash key → weighted random.
export const MAGLEV_TABLE_SIZE = 65537;
export class MaglevBalancer {
    size;
    endpoints = [];
    table = new Int32Array(0);
    wr = new WeightedRandom();
    constructor(size = MAGLEV_TABLE_SIZE) {
        this.size = size;
    }
    update(endpoints) {
        this.endpoints = endpoints;
        this.wr.update(endpoints);
        const M = this.size;
        const idx = [];
        endpoints.forEach((e, i) => {
            if (e.weight > 0)
                idx.push(i);
        });
        if (idx.length === 0) {
            this.table = new Int32Array(0);
            return;
        }
        const offset = idx.map((i) => hash32(endpoints[i].address, 0x9747b28c) % M);
        const skip = idx.map((i) => (hash32(endpoints[i].address, 0x5bd1e995) % (M - 1)) + 1);
        const next = new Array(idx.length).fill(0);
        const maxW = Math.max(...idx.map((i) => endpoints[i].weight));
        const norm = idx.map((i) => endpoints[i].weight / maxW);
        const credit = new Array(idx.length).fill(0);
        const table = new Int32Array(M).fill(-1);
        let filled = 0;
        while (filled < M) {
            for (let k = 0; k < idx.length && filled < M; k++) {
                credit[k] += norm[k];
                if (credit[k] < 1)
                    continue;
                credit[k] -= 1;
                let c;
                do {
                    c = (offset[k] + next[k] * skip[k]) % M;
                    next[k]++;
                } while (table[c] !== -1);
                table[c] = idx[k];
                filled++;
            }
        }
        this.table = table;
    }
    pick(ctx, exclude) {
        const key = ctx.hashKey;
        if (key === undefined || this.table.length === 0)
            return this.wr.pick(exclude);
        const e = this.endpoints[this.table[hash32(key) % this.size]];
        // A retry must not land on the endpoint that just failed: fall back to a weighted random other.
        return e === exclude ? this.wr.pick(exclude) : e;
    }
}
