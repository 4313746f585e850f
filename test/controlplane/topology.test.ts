import { test } from 'node:test';
import assert from 'node:assert/strict';
import { topologyOf, topologySvg } from '../../src/controlplane/registry/topology.ts';
import { doc, registry } from './fixtures.ts';

// The dependency map: edges from dependsOn, and an SVG drawing that survives cycles, missing
// services and hostile names.

const opts = { problems: new Set<string>(), details: new Map<string, string>() };

/** x of each drawn box, by service. */
function columns(svg: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const m of svg.matchAll(/data-service="([^"]+)"><rect class="node [a-z]+" x="(\d+)"/g)) out[m[1]!] = Number(m[2]);
  return out;
}

test('edges come from dependsOn; callers are drawn left of what they call; a missing service is drawn dashed', () => {
  const state = registry([
    doc({ name: 'web', dependsOn: ['api'], versions: [{ name: 'v1' }] }),
    doc({ name: 'api', dependsOn: ['db', 'ghost'], versions: [{ name: 'v1' }] }),
    doc({ name: 'db', versions: [{ name: 'v1' }] }),
  ]);
  const t = topologyOf(state);
  assert.deepEqual(t, { services: ['api', 'db', 'web'], edges: [{ from: 'api', to: 'db' }, { from: 'api', to: 'ghost' }, { from: 'web', to: 'api' }] });
  const svg = topologySvg(t, { ...opts, problems: new Set(['api']), href: (s) => `/ui/services/${s}` });
  const x = columns(svg);
  assert.ok(x.web! < x.api! && x.api! < x.db!, JSON.stringify(x));
  assert.equal(x.db, x.ghost);
  assert.match(svg, /data-service="ghost"><rect class="node missing"/);
  assert.match(svg, /<a href="\/ui\/services\/api" data-service="api"><rect class="node problem"/);
  assert.equal(svg.match(/<path class="edge/g)?.length, 3);
  assert.equal(svg.match(/class="edge broken"/g)?.length, 1);
});

test('a cycle is drawn (one arrow loops back) and names are escaped', () => {
  const svg = topologySvg(
    { services: ['a', 'b', 'c'], edges: [{ from: 'a', to: 'b' }, { from: 'b', to: 'c' }, { from: 'c', to: 'a' }, { from: 'c', to: '<script>' }] },
    opts,
  );
  assert.equal(svg.match(/<path class="edge/g)?.length, 4);
  assert.ok(!svg.includes('<script>'));
  assert.ok(svg.includes('&#60;script&#62;'));
  assert.equal(Object.keys(columns(svg)).length, 4);
  assert.match(topologySvg({ services: [], edges: [] }, opts), /no services registered yet/);
});
