import proxyaddr from 'proxy-addr';
export const TRUST_NONE = () => false;
export function compileTrust(cidrs) {
    if (!cidrs || cidrs.length === 0)
        return TRUST_NONE;
    return proxyaddr.compile(cidrs);
}
/** Strips the IPv4-mapped prefix so `::ffff:10.0.0.1` matches IPv4 CIDRs and logs read naturally. */
export function plainAddress(addr) {
    if (!addr)
        return '';
    return addr.startsWith('::ffff:') && addr.indexOf('.') !== -1 ? addr.slice(7) : addr;
}
/**
 * The client address for a request that arrived from `peer` carrying `xff` (X-Forwarded-For).
 * Walks X-Forwarded-For right to left while each hop is trusted; the first untrusted hop is the client.
 */
export function resolveClientAddress(peer, xff, trust) {
    if (trust === TRUST_NONE || xff === undefined || xff === '' || !trust(peer, 0))
        return peer;
    const hops = xff.split(',');
    let client = peer;
    for (let i = hops.length - 1, hop = 1; i >= 0; i--, hop++) {
        const addr = hops[i].trim();
        if (addr === '')
            break;
        client = addr;
        if (!trust(addr, hop))
            break;
    }
    return client;
}
