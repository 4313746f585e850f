import { Resolver } from 'node:dns/promises';
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';

// Name resolution for discovery. With `dns.servers` (IPs with optional ports) a c-ares Resolver asks
// exactly those servers; without, A/AAAA go through the system's getaddrinfo (so /etc/hosts works)
// and SRV through the system's name servers.

export interface ResolvedAddress {
  readonly address: string;
  /** Seconds; undefined when the source does not tell (getaddrinfo). */
  readonly ttl?: number;
}

export interface SrvAnswer {
  readonly name: string;
  readonly port: number;
  readonly priority: number;
  readonly weight: number;
}

export interface HostResolver {
  /** A and AAAA of `host`; rejects when neither gave an address. */
  addresses(host: string): Promise<ResolvedAddress[]>;
  srv(name: string): Promise<SrvAnswer[]>;
}

const QUERY_TIMEOUT_MS = 1000;
const QUERY_TRIES = 2;

export function createResolver(servers?: readonly string[]): HostResolver {
  const resolver = new Resolver({ timeout: QUERY_TIMEOUT_MS, tries: QUERY_TRIES });
  if (servers && servers.length > 0) {
    resolver.setServers([...servers]);
    return {
      async addresses(host) {
        if (isIP(host) !== 0) return [{ address: host }];
        const [v4, v6] = await Promise.allSettled([resolver.resolve4(host, { ttl: true }), resolver.resolve6(host, { ttl: true })]);
        const out: ResolvedAddress[] = [];
        if (v4.status === 'fulfilled') out.push(...v4.value);
        if (v6.status === 'fulfilled') out.push(...v6.value);
        if (out.length === 0) {
          throw v4.status === 'rejected' ? v4.reason : new Error(`no address for ${host}`);
        }
        return out;
      },
      srv: (name) => resolver.resolveSrv(name),
    };
  }
  return {
    async addresses(host) {
      if (isIP(host) !== 0) return [{ address: host }];
      const found = await lookup(host, { all: true });
      if (found.length === 0) throw new Error(`no address for ${host}`);
      return found.map((a) => ({ address: a.address }));
    },
    srv: (name) => resolver.resolveSrv(name),
  };
}
