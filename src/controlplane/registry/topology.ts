/**
 * The dependency map: `GET /topology` (services and their `dependsOn` edges as JSON) and the same
 * graph drawn as an SVG (a layered drawing: callers on the left, what they call to the right).
 *
 * Layout: each service's column is its longest call chain from a service nobody calls (cycles are
 * broken where a depth-first walk meets them); within a column services are ordered by the mean row
 * of their callers (fewer crossings), then by name. A `dependsOn` naming no service is drawn as a
 * dashed "missing" box, and a service with problems in red: the picture shows what is broken.
 */
import type { RegistryState } from '../store/types.ts';
import { escapeHtml as esc } from './html.ts';

export interface Topology {
  services: string[];
  edges: Array<{ from: string; to: string }>;
}

export function topologyOf(state: RegistryState): Topology {
  const services = [...state.services.keys()].sort();
  const edges: Topology['edges'] = [];
  for (const name of services) {
    for (const to of state.services.get(name)?.document?.dependsOn ?? []) edges.push({ from: name, to });
  }
  return { services, edges };
}

interface NodeBox {
  name: string;
  column: number;
  row: number;
  kind: 'ok' | 'problem' | 'missing';
  detail: string;
}

const BOX_W = 170;
const BOX_H = 46;
const COL_GAP = 90;
const ROW_GAP = 22;
const MARGIN = 24;

export interface SvgOptions {
  /** Services with problems (drawn in red). */
  problems: ReadonlySet<string>;
  /** A subtitle per service (e.g. "shop · v1 90 / v2 10"). */
  details: ReadonlyMap<string, string>;
  /** Link target of a service box; none when absent. */
  href?: (service: string) => string;
}

export function topologySvg(topology: Topology, options: SvgOptions): string {
  const known = new Set(topology.services);
  const missing = [...new Set(topology.edges.map((e) => e.to).filter((t) => !known.has(t)))].sort();
  const names = [...topology.services, ...missing];
  const out = new Map<string, string[]>();
  const into = new Map<string, string[]>();
  for (const n of names) {
    out.set(n, []);
    into.set(n, []);
  }
  for (const e of topology.edges) {
    out.get(e.from)!.push(e.to);
    into.get(e.to)!.push(e.from);
  }
  const column = columns(names, out, into);

  // Rows: by column, ordered by the mean row of the callers already placed.
  const byColumn = new Map<number, string[]>();
  for (const n of names) byColumn.set(column.get(n)!, [...(byColumn.get(column.get(n)!) ?? []), n]);
  const row = new Map<string, number>();
  const maxColumn = Math.max(0, ...column.values());
  for (let c = 0; c <= maxColumn; c++) {
    const members = byColumn.get(c) ?? [];
    const key = (n: string) => {
      const rows = into.get(n)!.map((p) => row.get(p)).filter((r): r is number => r !== undefined);
      return rows.length === 0 ? Number.POSITIVE_INFINITY : rows.reduce((a, b) => a + b, 0) / rows.length;
    };
    members.sort((a, b) => key(a) - key(b) || (a < b ? -1 : 1)).forEach((n, i) => row.set(n, i));
  }

  const boxes: NodeBox[] = names.map((name) => ({
    name,
    column: column.get(name)!,
    row: row.get(name)!,
    kind: !known.has(name) ? 'missing' : options.problems.has(name) ? 'problem' : 'ok',
    detail: !known.has(name) ? 'no such service' : (options.details.get(name) ?? ''),
  }));
  const rows = Math.max(1, ...[...byColumn.values()].map((m) => m.length));
  const width = MARGIN * 2 + (maxColumn + 1) * BOX_W + maxColumn * COL_GAP;
  const height = MARGIN * 2 + rows * BOX_H + (rows - 1) * ROW_GAP;
  const x = (b: NodeBox) => MARGIN + b.column * (BOX_W + COL_GAP);
  const y = (b: NodeBox) => MARGIN + b.row * (BOX_H + ROW_GAP);
  const boxOf = new Map(boxes.map((b) => [b.name, b]));

  const edgeSvg = topology.edges.map((e) => {
    const a = boxOf.get(e.from)!;
    const b = boxOf.get(e.to)!;
    const cls = b.kind === 'missing' ? 'edge broken' : 'edge';
    let d: string;
    if (b.column > a.column) {
      const x1 = x(a) + BOX_W, y1 = y(a) + BOX_H / 2, x2 = x(b) - 4, y2 = y(b) + BOX_H / 2;
      const mid = (x1 + x2) / 2;
      d = `M${x1},${y1} C${mid},${y1} ${mid},${y2} ${x2},${y2}`;
    } else {
      // A call back to an earlier column (a cycle): loop below the boxes.
      const x1 = x(a) + BOX_W / 2, y1 = y(a) + BOX_H, x2 = x(b) + BOX_W / 2 + 8, y2 = y(b) + BOX_H + 4;
      const low = Math.max(y1, y2) + ROW_GAP * 1.5;
      d = `M${x1},${y1} C${x1},${low} ${x2},${low} ${x2},${y2}`;
    }
    return `<path class="${cls}" d="${d}" marker-end="url(#arrow)"><title>${esc(e.from)} → ${esc(e.to)}</title></path>`;
  });

  const boxSvg = boxes.map((b) => {
    const inner =
      `<rect class="node ${b.kind}" x="${x(b)}" y="${y(b)}" width="${BOX_W}" height="${BOX_H}" rx="7"/>` +
      `<text class="name" x="${x(b) + 10}" y="${y(b) + 19}">${esc(truncate(b.name, 22))}</text>` +
      `<text class="detail" x="${x(b) + 10}" y="${y(b) + 36}">${esc(truncate(b.detail, 28))}</text>` +
      `<title>${esc(b.name)}${b.detail ? ` — ${esc(b.detail)}` : ''}</title>`;
    const href = b.kind !== 'missing' && options.href ? options.href(b.name) : null;
    return href ? `<a href="${esc(href)}" data-service="${esc(b.name)}">${inner}</a>` : `<g data-service="${esc(b.name)}">${inner}</g>`;
  });

  const empty = names.length === 0 ? `<text class="detail" x="${MARGIN}" y="${MARGIN + 20}">no services registered yet</text>` : '';
  return `<svg xmlns="http://www.w3.org/2000/svg" class="topology" role="img" aria-label="service dependency map" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}">
<style>
.node{fill:#f6f8fa;stroke:#57606a;stroke-width:1.2}.node.ok{fill:#eef7ee;stroke:#2da44e}.node.problem{fill:#fff0ef;stroke:#cf222e;stroke-width:2}
.node.missing{fill:#fff;stroke:#8c959f;stroke-dasharray:5 4}
.name{font:600 14px system-ui,sans-serif;fill:#1f2328}.detail{font:11px system-ui,sans-serif;fill:#57606a}
.edge{fill:none;stroke:#57606a;stroke-width:1.4}.edge.broken{stroke:#cf222e;stroke-dasharray:5 4}
a:hover .node{stroke-width:2.5}
</style>
<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="8" markerHeight="8" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#57606a"/></marker></defs>
${edgeSvg.join('\n')}
${boxSvg.join('\n')}
${empty}
</svg>`;
}

/** Longest call chain from a root (a service nobody calls); a cycle is cut where the walk meets it. */
function columns(names: string[], out: Map<string, string[]>, into: Map<string, string[]>): Map<string, number> {
  const column = new Map<string, number>();
  const state = new Map<string, 'visiting' | 'done'>();
  const back = new Set<string>();
  const visit = (n: string) => {
    state.set(n, 'visiting');
    for (const m of out.get(n)!) {
      if (state.get(m) === 'visiting') back.add(`${n}\u0000${m}`);
      else if (!state.has(m)) visit(m);
    }
    state.set(n, 'done');
  };
  const roots = names.filter((n) => into.get(n)!.length === 0);
  for (const n of [...roots, ...names]) if (!state.has(n)) visit(n);
  // Kahn's order over the acyclic part.
  const indegree = new Map(names.map((n) => [n, into.get(n)!.filter((p) => !back.has(`${p}\u0000${n}`)).length]));
  const queue = names.filter((n) => indegree.get(n) === 0);
  for (const n of queue) column.set(n, 0);
  while (queue.length > 0) {
    const n = queue.shift()!;
    for (const m of out.get(n)!) {
      if (back.has(`${n}\u0000${m}`)) continue;
      column.set(m, Math.max(column.get(m) ?? 0, column.get(n)! + 1));
      indegree.set(m, indegree.get(m)! - 1);
      if (indegree.get(m) === 0) queue.push(m);
    }
  }
  return column;
}

function truncate(s: string, n: number): string {
  return s.length > n ? `${s.slice(0, n - 1)}…` : s;
}
