import * as proxy from './proxy.ts';
import * as routing from './routing.ts';
import * as authn from './authn.ts';
import * as ratelimit from './ratelimit.ts';
import * as upstreams from './upstreams.ts';
import * as observability from './observability.ts';
import * as extauthz from './extauthz.ts';
import * as xds from './xds.ts';
import * as controlplane from './controlplane.ts';
import * as reload from './reload.ts';
import type { ExtraDef, RatioDef, Scenario, ServiceDef } from '../lib/types.ts';

// The scenario registry. A benchmark is one file exporting `services`, `scenarios` and `ratios`
// (and optionally `extras`, measurements that are not load, such as a compile time) like
// ./proxy.ts, added to this list under a group name (`--group NAME` / BENCH_GROUPS selects groups).
// Scenarios run in list order in even rounds and in reverse in odd rounds. A ratio may name scenarios
// of another group (upstreams.ts compares two proxy.ts scenarios); it is reported when both run.

export interface Group {
  services: ServiceDef[];
  scenarios: Scenario[];
  ratios: RatioDef[];
  extras?: ExtraDef[];
}

export const groups: ReadonlyArray<{ name: string; group: Group }> = [
  { name: 'proxy', group: proxy }, // issue 2: the proxy path vs fastify and direct
  { name: 'routing', group: routing }, // issue 3: 10 vs 10,000 routes, compile time
  { name: 'authn', group: authn }, // issue 4: authn off / on (cached token) / on (every token new)
  { name: 'ratelimit', group: ratelimit }, // issue 5: no limit / memory limit / Redis limit
  { name: 'upstreams', group: upstreams }, // issue 6: mTLS vs plain upstream (pick() cost: bench/micro)
  { name: 'observability', group: observability }, // issue 13: access log + tracing vs off; tracing configured vs not
  { name: 'extauthz', group: extauthz }, // issue 14: ext_authz on (local service answering OK) vs off
  { name: 'xds', group: xds }, // issue 11: xDS push to effect (1,000 routes/endpoints), a 10,000-route apply under load
  { name: 'controlplane', group: controlplane }, // issue 16: etcd write → route pushed / served (an extra, no load)
  { name: 'reload', group: reload }, // issue 15: a 10,000-route YAML reload under a steady load (parsed off the event loop)
];

const all = groups.map((g) => g.group);
export const services: ServiceDef[] = all.flatMap((g) => g.services);
export const scenarios: Scenario[] = all.flatMap((g) => g.scenarios);
export const ratios: RatioDef[] = all.flatMap((g) => g.ratios);
export const extras: ExtraDef[] = all.flatMap((g) => g.extras ?? []);

/** The scenarios, ratios and extras of the named groups (all when `names` is empty). */
export function select(names: readonly string[]): { scenarios: Scenario[]; ratios: RatioDef[]; extras: ExtraDef[] } {
  const unknown = names.filter((n) => !groups.some((g) => g.name === n));
  if (unknown.length > 0) throw new Error(`unknown group(s) ${unknown.join(', ')} (have: ${groups.map((g) => g.name).join(', ')})`);
  const chosen = groups.filter((g) => names.length === 0 || names.includes(g.name)).map((g) => g.group);
  return {
    scenarios: chosen.flatMap((g) => g.scenarios),
    // A ratio of a selected group may compare scenarios of another group: those are pulled in.
    ratios: chosen.flatMap((g) => g.ratios),
    extras: chosen.flatMap((g) => g.extras ?? []),
  };
}
