import { Endpoint, type EndpointPoolOptions } from './endpoint.ts';
import type { Balancer, PickContext } from './balancers/index.ts';

// A cluster at run time: its endpoints (with their pools) and its balancer. Built by compile() and
// reused by the next generation when its config and TLS material are unchanged, so connections and
// endpoint state survive a reload.

export interface EndpointAddress {
  readonly host: string;
  readonly port: number;
  readonly weight: number;
}

export interface ClusterSummary {
  name: string;
  endpoints: { address: string; weight: number; healthy: boolean; ejected: boolean; active: number }[];
}

export class Cluster {
  readonly name: string;
  /** Config + TLS material hash: equal fingerprints mean the cluster can be reused as it is. */
  readonly fingerprint: string;
  readonly https: boolean;
  private endpointList: Endpoint[] = [];
  private readonly balancer: Balancer;
  /** Pool settings (TLS, connect timeout): read by the WebSocket proxy, which opens its own connections. */
  readonly poolOptions: EndpointPoolOptions;

  constructor(name: string, fingerprint: string, balancer: Balancer, poolOptions: EndpointPoolOptions) {
    this.name = name;
    this.fingerprint = fingerprint;
    this.balancer = balancer;
    this.poolOptions = poolOptions;
    this.https = poolOptions.tls !== null;
  }

  get endpoints(): readonly Endpoint[] {
    return this.endpointList;
  }

  /** Replaces the endpoint set (from discovery); endpoints that stay keep their pools and state. */
  setEndpoints(addresses: readonly EndpointAddress[]): void {
    const previous = new Map(this.endpointList.map((e) => [e.address, e]));
    const next: Endpoint[] = [];
    for (const a of addresses) {
      const key = a.host.includes(':') ? `[${a.host}]:${a.port}` : `${a.host}:${a.port}`;
      const kept = previous.get(key);
      if (kept) {
        kept.weight = a.weight;
        previous.delete(key);
        next.push(kept);
      } else {
        next.push(new Endpoint(a.host, a.port, a.weight, this.poolOptions));
      }
    }
    this.endpointList = next;
    this.balancer.update(next);
    for (const gone of previous.values()) void gone.close();
  }

  pick(ctx: PickContext, exclude?: Endpoint): Endpoint | null {
    return this.balancer.pick(ctx, exclude);
  }

  summary(): ClusterSummary {
    return {
      name: this.name,
      endpoints: this.endpointList.map((e) => ({
        address: e.address,
        weight: e.weight,
        healthy: e.healthy,
        ejected: e.ejected,
        active: e.active,
      })),
    };
  }

  async close(): Promise<void> {
    await Promise.all(this.endpointList.map((e) => e.close()));
  }
}

/** Parses "host:port" or "[v6]:port". */
export function parseHostPort(s: string): { host: string; port: number } | null {
  const m = /^(?:\[([0-9A-Fa-f:.]+)\]|([^:\[\]]+)):(\d{1,5})$/.exec(s);
  if (!m) return null;
  const port = Number(m[3]);
  if (port < 1 || port > 65535) return null;
  return { host: m[1] ?? m[2], port };
}
