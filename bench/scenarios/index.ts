import * as proxy from './proxy.ts';
import type { RatioDef, Scenario, ServiceDef } from '../lib/types.ts';

// The scenario registry. A new benchmark (route-matching cost at 10 vs 10,000 routes, authn on/off,
// rate limit on/off…) is one file exporting `services`, `scenarios` and `ratios` like ./proxy.ts,
// added to this list. Scenarios run in list order in even rounds and in reverse in odd rounds.

interface Group {
  services: ServiceDef[];
  scenarios: Scenario[];
  ratios: RatioDef[];
}

const groups: Group[] = [proxy];

export const services: ServiceDef[] = groups.flatMap((g) => g.services);
export const scenarios: Scenario[] = groups.flatMap((g) => g.scenarios);
export const ratios: RatioDef[] = groups.flatMap((g) => g.ratios);
