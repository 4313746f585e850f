import type { DiscoveryContext } from './discovery.ts';
import { PollingDiscovery, ttlDelay, type Resolution } from './polling.ts';

// `dns`: every A and AAAA address of `host` is an endpoint on `port` (weight 1), refreshed on the
// records' TTL or `refresh`, whichever comes first. The host name is the default SNI.

export class DnsDiscovery extends PollingDiscovery {
  constructor(
    ctx: DiscoveryContext,
    private readonly host: string,
    private readonly port: number,
    refreshMs: number,
  ) {
    super(ctx, refreshMs);
  }

  protected async resolve(): Promise<Resolution> {
    const found = await this.ctx.resolver.addresses(this.host);
    return {
      addresses: found.map((a) => ({ host: a.address, port: this.port, weight: 1, hostname: this.host })),
      nextMs: ttlDelay(found.map((a) => a.ttl), this.refreshMs),
    };
  }
}
