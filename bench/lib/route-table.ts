// Route tables for the routing benchmark (issue 3): N virtual hosts of the same 10 routes each, as
// YAML list items for gatehouseConfig()'s `extraVirtualHosts` (indented 2 spaces under
// `virtualHosts:`). Shared by bench/scenarios/routing.ts, the compile-time worker and the router
// micro-benchmark, so all three measure the same table.
//
// Every virtual host has the same 10 routes, of the kinds an operator writes (prefix + methods,
// header canary, exact path, regex, query, plain prefixes). Nine of them start with the path segment
// `/api`, so for a request under /api the router's first-segment index still leaves ~9 candidates to
// test in order. The benchmark request (TARGET_PATH) only matches the LAST route of its virtual
// host: every earlier candidate is tested and refused first.

export const ROUTES_PER_VHOST = 10;
/** Matched by route 10 (`catalog`) of every bench virtual host, and by nothing before it. */
export const TARGET_PATH = '/api/v3/catalog/42';
/** The virtual host every routing-benchmark request is sent to (Host header). */
export const TARGET_VHOST = 777;

export function vhostDomain(i: number): string {
  return `vh-${i}.bench.test`;
}

/** One virtual host (`vh-<i>`) with its 10 routes, all forwarding to `cluster`. */
export function vhostYaml(i: number, cluster = 'upstream'): string {
  const to = `route: { cluster: ${cluster}, timeout: 10s }`;
  return [
    `  - name: vh-${i}`,
    `    domains: ["${vhostDomain(i)}", "*.${vhostDomain(i)}"]`,
    `    routes:`,
    `      - { name: users-write, match: { prefix: /api/v1/users, methods: [POST, PUT, DELETE] }, ${to} }`,
    `      - { name: users, match: { prefix: /api/v1/users }, ${to} }`,
    `      - { name: orders-canary, match: { prefix: /api/v1/orders, headers: [{ name: x-canary, exact: "true" }] }, ${to} }`,
    `      - { name: orders, match: { prefix: /api/v1/orders }, ${to} }`,
    `      - { name: health, match: { path: /api/healthz }, ${to} }`,
    `      - { name: items, match: { regex: "/api/v2/items/[0-9]+" }, ${to} }`,
    `      - { name: search, match: { prefix: /api/v2/search, query: [{ name: q, present: true }] }, ${to} }`,
    `      - { name: static, match: { prefix: /static/ }, ${to} }`,
    `      - { name: legacy, match: { prefix: /api/legacy/, headers: [{ name: x-legacy, present: true }] }, ${to} }`,
    `      - { name: catalog, match: { prefix: /api/v3/catalog }, ${to} }`,
  ].join('\n');
}

/**
 * `count` virtual hosts. With count = 1 it is the single host TARGET_VHOST (10 routes), so the small
 * and the large table answer the benchmark request from identical route lists.
 */
export function vhostsYaml(count: number, cluster = 'upstream'): string {
  if (count === 1) return vhostYaml(TARGET_VHOST, cluster) + '\n';
  if (count <= TARGET_VHOST) throw new Error(`need more than ${TARGET_VHOST} virtual hosts (or exactly 1)`);
  const out: string[] = [];
  for (let i = 0; i < count; i++) out.push(vhostYaml(i, cluster));
  return out.join('\n') + '\n';
}
