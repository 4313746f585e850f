// MurmurHash3 (x86, 32-bit) over a string's UTF-16 code units: fast, well mixed, no allocation.
// Used for sticky split keys (router/split.ts) and for hash keys and ring/table positions of
// endpoints (upstream/balancers).
export function hash32(s, seed = 0) {
    let h = seed >>> 0;
    const n = s.length;
    let i = 0;
    for (; i + 1 < n; i += 2) {
        let k = (s.charCodeAt(i) | (s.charCodeAt(i + 1) << 16)) >>> 0;
        k = Math.imul(k, 0xcc9e2d51);
        k = (k << 15) | (k >>> 17);
        k = Math.imul(k, 0x1b873593);
        h ^= k;
        h = (h << 13) | (h >>> 19);
        h = (Math.imul(h, 5) + 0xe6546b64) | 0;
    }
    if (i < n) {
        let k = s.charCodeAt(i);
        k = Math.imul(k, 0xcc9e2d51);
        k = (k << 15) | (k >>> 17);
        k = Math.imul(k, 0x1b873593);
        h ^= k;
    }
    h ^= n * 2;
    h ^= h >>> 16;
    h = Math.imul(h, 0x85ebca6b);
    h ^= h >>> 13;
    h = Math.imul(h, 0xc2b2ae35);
    h ^= h >>> 16;
    return h >>> 0;
}
