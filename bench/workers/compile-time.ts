import { readFileSync } from 'node:fs';
import { loadConfigText } from '../../src/config/load.ts';
import { compile } from '../../src/runtime/compile.ts';
import { compileVirtualHost } from '../../src/router/compile.ts';
import { HostTable } from '../../src/router/host-table.ts';
import type { ConfigError } from '../../src/config/load.ts';
import { argJson, emit, exitWithParent } from './common.ts';

// Config compile time, in-process (issue 3: "compile time for 10,000 routes reported, goal < 300 ms"),
// in its own node process pinned by the harness to the server-under-test core. For each config file,
// `runs` times in a row:
//   load    = loadConfigText(text): YAML parse, env substitution, schema, semantic checks, deep freeze
//   compile = compile(config): the whole runtime generation (clusters, listeners' TLS contexts, rate
//             limits, authn, every virtual host's routes and the host table)
//   routes  = compileVirtualHost() for every virtual host + HostTable (the routing part of compile)
// Run 1 is the cold one (what a gateway pays at startup); later runs are what a reload pays in a
// warm process. One `result` line with every sample in ms.

interface Args {
  configs: Array<{ id: string; file: string }>;
  runs: number;
}

const a = argJson<Args>();
exitWithParent();

const ms = (t0: number) => performance.now() - t0;
const out: Record<string, { routes: number; vhosts: number; load: number[]; compile: number[]; routesOnly: number[] }> = {};

for (const c of a.configs) {
  const text = readFileSync(c.file, 'utf8');
  const r = { routes: 0, vhosts: 0, load: [] as number[], compile: [] as number[], routesOnly: [] as number[] };
  for (let i = 0; i < a.runs; i++) {
    let t0 = performance.now();
    const loaded = await loadConfigText(text);
    r.load.push(ms(t0));
    if (!loaded.ok) throw new Error(`${c.file}: ${loaded.errors.map((e) => `${e.path}: ${e.message}`).join('; ')}`);
    const cfg = loaded.config;
    r.vhosts = cfg.virtualHosts.length;
    r.routes = cfg.virtualHosts.reduce((n, v) => n + v.routes.length, 0);

    t0 = performance.now();
    const { generation: gen } = await compile(cfg, c.file, i + 1);
    r.compile.push(ms(t0));

    // The routing part alone, with the clusters this compile built (no filters: none configured).
    const errors: ConfigError[] = [];
    t0 = performance.now();
    const hosts = new HostTable();
    for (const [k, vh] of cfg.virtualHosts.entries()) {
      const compiled = compileVirtualHost(vh, `virtualHosts[${k}]`, gen.clusters, 15_000, errors);
      for (const d of vh.domains) hosts.add(d, compiled);
    }
    r.routesOnly.push(ms(t0));
    if (errors.length > 0) throw new Error(`${c.file}: ${errors.map((e) => `${e.path}: ${e.message}`).join('; ')}`);

    for (const cl of gen.clusters.values()) await Promise.resolve(cl.close());
    await gen.rateLimits.close();
    gen.authn.close();
  }
  out[c.id] = r;
}

emit('result', { configs: out });
process.exit(0);
