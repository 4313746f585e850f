import { hash32 } from '../util/hash.ts';
import { upperBound } from '../util/cumulative.ts';
import type { Cluster } from '../upstream/cluster.ts';
import type { StickyOnConfig } from '../config/schema.ts';
import type { ClusterChoice, StickySource } from './types.ts';

// Choosing the route's cluster: one cluster, or a weighted split. Weights become a cumulative table
// (a weight of 0 adds nothing, so it is never picked) searched in O(log n). With `stickyOn`, the
// key (cookie, header, claim or client address) is hashed with 32-bit MurmurHash3 (src/util/hash.ts) into the weight space,
// so one user always lands on the same cluster while the population follows the weights; a request
// without the key gets a random pick by weight. Because the table is cumulative in config order,
// moving weight from the first cluster to the second only moves users in that direction.

const ONE: readonly number[] = Object.freeze([1]);

/** A route's one cluster. Immutable, so every route to the same Cluster object shares one (`of`). */
export class SingleCluster implements ClusterChoice {
  private static readonly shared = new WeakMap<Cluster, SingleCluster>();

  readonly clusters: readonly Cluster[];
  readonly weights = ONE;
  readonly sticky = null;
  private constructor(private readonly cluster: Cluster) {
    this.clusters = Object.freeze([cluster]);
  }

  static of(cluster: Cluster): SingleCluster {
    let c = SingleCluster.shared.get(cluster);
    if (c === undefined) SingleCluster.shared.set(cluster, (c = new SingleCluster(cluster)));
    return c;
  }

  choose(): Cluster {
    return this.cluster;
  }
}

export type StickyKey = (src: StickySource) => string | undefined;

/** The value of cookie `name` in a Cookie header, or undefined. */
export function cookieValue(header: string | string[] | undefined, name: string): string | undefined {
  if (header === undefined) return undefined;
  const h = Array.isArray(header) ? header.join('; ') : header;
  let at = 0;
  while (at < h.length) {
    let end = h.indexOf(';', at);
    if (end === -1) end = h.length;
    const eq = h.indexOf('=', at);
    if (eq !== -1 && eq < end && h.slice(at, eq).trim() === name) {
      const v = h.slice(eq + 1, end).trim();
      return v === '' ? undefined : v;
    }
    at = end + 1;
  }
  return undefined;
}

/** `cookie session`, `header x-user`, `claim sub`, `clientIp`: what a sticky split hashes on. */
export function describeSticky(s: StickyOnConfig): string {
  if (s.cookie !== undefined) return `cookie ${s.cookie}`;
  if (s.header !== undefined) return `header ${s.header.toLowerCase()}`;
  if (s.claim !== undefined) return `claim ${s.claim}`;
  return 'clientIp';
}

export function compileStickyKey(s: StickyOnConfig): StickyKey {
  if (s.cookie !== undefined) {
    const name = s.cookie;
    return (src) => cookieValue(src.req.headers.cookie, name);
  }
  if (s.header !== undefined) {
    const name = s.header.toLowerCase();
    return (src) => {
      const v = src.req.headers[name];
      const one = Array.isArray(v) ? v[0] : v;
      return one === '' ? undefined : one;
    };
  }
  if (s.claim !== undefined) {
    const name = s.claim;
    return (src) => {
      const v = src.claims?.[name];
      return typeof v === 'string' ? (v === '' ? undefined : v) : typeof v === 'number' ? String(v) : undefined;
    };
  }
  return (src) => src.clientIp || undefined;
}

export class WeightedSplit implements ClusterChoice {
  readonly clusters: readonly Cluster[];
  readonly weights: readonly number[];
  private readonly cumulative: Uint32Array;
  readonly total: number;

  constructor(
    entries: ReadonlyArray<{ cluster: Cluster; weight: number }>,
    private readonly stickyKey: StickyKey | null,
    /** describeSticky() of the config, for explain and the dashboard. */
    readonly sticky: string | null = null,
  ) {
    this.clusters = entries.map((e) => e.cluster);
    this.weights = entries.map((e) => e.weight);
    this.cumulative = new Uint32Array(entries.length);
    let sum = 0;
    entries.forEach((e, i) => (this.cumulative[i] = sum += e.weight));
    this.total = sum;
  }

  /** The cluster owning point `x` of [0, total): the first whose cumulative weight exceeds x. */
  at(x: number): Cluster {
    return this.clusters[upperBound(this.cumulative, x)];
  }

  /** Sticky point for a key, or a random one without a key. */
  point(key: string | undefined): number {
    return key === undefined ? Math.floor(Math.random() * this.total) : hash32(key) % this.total;
  }

  choose(src: StickySource): Cluster {
    return this.at(this.point(this.stickyKey === null ? undefined : this.stickyKey(src)));
  }
}
