import type { CompiledVirtualHost } from './types.ts';

// Virtual-host choice (SPEC): the Host/:authority without its port, case-insensitive; an exact domain
// wins, then the longest `*.suffix`, then `*`. Lookups are Map hits; wildcard suffixes are tried
// from the longest dotted suffix of the host down, so cost grows with the host's labels, not the
// number of virtual hosts.

export class HostTable {
  private readonly exact = new Map<string, CompiledVirtualHost>();
  private readonly suffix = new Map<string, CompiledVirtualHost>(); // ".example.com" → host
  private star: CompiledVirtualHost | null = null;

  add(domain: string, vhost: CompiledVirtualHost): void {
    const d = domain.toLowerCase();
    if (d === '*') this.star ??= vhost;
    else if (d.startsWith('*.')) {
      if (!this.suffix.has(d.slice(1))) this.suffix.set(d.slice(1), vhost);
    } else if (!this.exact.has(d)) this.exact.set(d, vhost);
  }

  /** `authority` may carry a port and any case; returns null when no virtual host matches. */
  lookup(authority: string | undefined): CompiledVirtualHost | null {
    return this.find(authority, null);
  }

  /** The lookup with its reason (tracing mode for `explain`): the same code path as lookup(). */
  explain(authority: string | undefined): HostChoice | null {
    const why: HostChoice = { vhost: null as unknown as CompiledVirtualHost, how: 'wildcard', domain: '*' };
    const vhost = this.find(authority, why);
    return vhost === null ? null : { ...why, vhost };
  }

  /** Every virtual host in the table, once each. */
  virtualHosts(): CompiledVirtualHost[] {
    const all = new Set<CompiledVirtualHost>([...this.exact.values(), ...this.suffix.values()]);
    if (this.star) all.add(this.star);
    return [...all];
  }

  private find(authority: string | undefined, why: HostChoice | null): CompiledVirtualHost | null {
    if (!authority) return this.star;
    const host = hostWithoutPort(authority);
    const hit = this.exact.get(host);
    if (hit) {
      if (why !== null) (why.how = 'exact'), (why.domain = host);
      return hit;
    }
    if (this.suffix.size > 0) {
      // try ".b.c.d", then ".c.d", then ".d": the first hit is the longest suffix
      let dot = host.indexOf('.');
      while (dot !== -1) {
        const s = this.suffix.get(host.slice(dot));
        if (s) {
          if (why !== null) (why.how = 'suffix'), (why.domain = `*${host.slice(dot)}`);
          return s;
        }
        dot = host.indexOf('.', dot + 1);
      }
    }
    return this.star;
  }
}

/** Why a virtual host was chosen: its exact domain, its longest `*.suffix`, or `*`. */
export interface HostChoice {
  vhost: CompiledVirtualHost;
  how: 'exact' | 'suffix' | 'wildcard';
  /** The domain entry that matched, as configured (lower case). */
  domain: string;
}

/** Lower-cased host of an authority: strips ":port" and the brackets of an IPv6 literal. */
export function hostWithoutPort(authority: string): string {
  let end = authority.length;
  if (authority.charCodeAt(0) === 0x5b /* [ */) {
    const close = authority.indexOf(']');
    return (close === -1 ? authority : authority.slice(1, close)).toLowerCase();
  }
  const colon = authority.lastIndexOf(':');
  if (colon !== -1) end = colon;
  const h = end === authority.length ? authority : authority.slice(0, end);
  // Most clients send lower case: avoid the copy when there is nothing to lower.
  return /[A-Z]/.test(h) ? h.toLowerCase() : h;
}
