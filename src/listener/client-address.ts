import { compileCidrs } from '../util/cidr.ts';

// The one place the client address comes from. The peer is the connection's PROXY-protocol source
// when the listener takes PROXY protocol (the cloud LB's own address never counts), else the socket's
// peer. The client address is that peer or, when the peer is a trusted proxy, the right-most
// untrusted address of X-Forwarded-For: trustedProxies then applies to the PROXY source exactly as it
// would to a direct peer (a CDN in front of the LB can still hand over X-Forwarded-For).

export type TrustFn = (addr: string, hop: number) => boolean;

export const TRUST_NONE: TrustFn = () => false;

export function compileTrust(cidrs: readonly string[] | undefined): TrustFn {
  if (!cidrs || cidrs.length === 0) return TRUST_NONE;
  return compileCidrs(cidrs);
}


/** Strips the IPv4-mapped prefix so `::ffff:10.0.0.1` matches IPv4 CIDRs and logs read naturally. */
export function plainAddress(addr: string | undefined): string {
  if (!addr) return '';
  return addr.startsWith('::ffff:') && addr.indexOf('.') !== -1 ? addr.slice(7) : addr;
}

/** Where a listener keeps a connection's PROXY-protocol source on the (TLS) socket requests arrive on. */
const PROXY_SOURCE = Symbol('gatehouse.proxySource');

/** Records the PROXY-protocol source of a connection (the listener calls it once, after the handshake). */
export function setProxySource(socket: object, address: string): void {
  (socket as { [PROXY_SOURCE]?: string })[PROXY_SOURCE] = address;
}

/** The peer of a request's connection: its PROXY-protocol source if it had one, else the socket's peer. */
export function connectionPeer(socket: { remoteAddress?: string } | undefined | null): string {
  if (!socket) return '';
  return (socket as { [PROXY_SOURCE]?: string })[PROXY_SOURCE] ?? plainAddress(socket.remoteAddress);
}

/**
 * The client address for a request that arrived from `peer` carrying `xff` (X-Forwarded-For).
 * Walks X-Forwarded-For right to left while each hop is trusted; the first untrusted hop is the client.
 */
export function resolveClientAddress(peer: string, xff: string | undefined, trust: TrustFn): string {
  if (trust === TRUST_NONE || xff === undefined || xff === '' || !trust(peer, 0)) return peer;
  const hops = xff.split(',');
  let client = peer;
  for (let i = hops.length - 1, hop = 1; i >= 0; i--, hop++) {
    const addr = hops[i].trim();
    if (addr === '') break;
    client = addr;
    if (!trust(addr, hop)) break;
  }
  return client;
}
