import proxyaddr from 'proxy-addr';

/**
 * A matcher for a list of addresses and CIDR blocks (trustedProxies, authz sourceCidrs). proxy-addr
 * refuses a /0 prefix, so "every address of a family" is written as its two halves.
 */
export function compileCidrs(cidrs: readonly string[]): (addr: string, hop: number) => boolean {
  const ranges: string[] = [];
  for (const c of cidrs) {
    if (!c.endsWith('/0')) ranges.push(c);
    else if (c.includes(':')) ranges.push('::/1', '8000::/1');
    else ranges.push('0.0.0.0/1', '128.0.0.0/1');
  }
  return proxyaddr.compile(ranges);
}
