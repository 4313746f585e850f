import { hash32 } from "../../util/hash.js";
import { WeightedRandom } from "./weighted-random.js";
// Consistent hashing on a ring (Karger et al., as Envoy's ring_hash): every endpoint owns virtual
// nodes at hash(address + "_" + i); a key goes to the first node clockwise of hash(key). The number
// of nodes per endpoint depends only on its own weight (relative to the smallest weight), so when
// one of n endpoints leaves, only the keys it owned (~1/n) move; everyone else's stay put.
// No hash key → weighted random.
const NODES_PER_WEIGHT = 160;
const MAX_RING = 1 << 20;
export class RingHashBalancer {
    endpoints = [];
    ring = new Uint32Array(0); // sorted node hashes
    owner = new Int32Array(0); // endpoint index per node
    wr = new WeightedRandom();
    update(endpoints) {
        this.endpoints = endpoints;
        this.wr.update(endpoints);
        const live = endpoints.filter((e) => e.weight > 0);
        if (live.length === 0) {
            this.ring = new Uint32Array(0);
            this.owner = new Int32Array(0);
            return;
        }
        const minWeight = Math.min(...live.map((e) => e.weight));
        let total = 0;
        const counts = endpoints.map((e) => (e.weight > 0 ? Math.max(1, Math.round((NODES_PER_WEIGHT * e.weight) / minWeight)) : 0));
        for (const c of counts)
            total += c;
        // Very skewed weights: scale down to keep the ring bounded (proportions kept).
        const scale = total > MAX_RING ? MAX_RING / total : 1;
        const nodes = [];
        endpoints.forEach((e, idx) => {
            const n = scale === 1 ? counts[idx] : Math.max(counts[idx] > 0 ? 1 : 0, Math.floor(counts[idx] * scale));
            for (let i = 0; i < n; i++)
                nodes.push([hash32(`${e.address}_${i}`), idx]);
        });
        nodes.sort((x, y) => x[0] - y[0] || x[1] - y[1]);
        this.ring = Uint32Array.from(nodes, (n) => n[0]);
        this.owner = Int32Array.from(nodes, (n) => n[1]);
    }
    pick(ctx, exclude) {
        const key = ctx.hashKey;
        const ring = this.ring;
        if (key === undefined || ring.length === 0)
            return this.wr.pick(exclude);
        const h = hash32(key);
        let lo = 0;
        let hi = ring.length;
        while (lo < hi) {
            const mid = (lo + hi) >>> 1;
            if (ring[mid] < h)
                lo = mid + 1;
            else
                hi = mid;
        }
        // Walk clockwise past the excluded endpoint (a retry goes to the key's next owner).
        for (let k = 0; k < ring.length; k++) {
            const e = this.endpoints[this.owner[(lo + k) % ring.length]];
            if (e !== exclude)
                return e;
        }
        return exclude ?? null;
    }
}
