import type { ExtraRow, Measurement, RatioDef, Scenario } from './types.ts';

// Medians over rounds, ratios taken per round (same run, adjacent in time) and reported as their
// median, and the Markdown rendering.

export function median(xs: number[]): number | null {
  const v = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return null;
  const mid = v.length >> 1;
  return v.length % 2 ? v[mid]! : (v[mid - 1]! + v[mid]!) / 2;
}

const nums = (xs: (number | null | undefined)[]) => xs.filter((x): x is number => typeof x === 'number' && Number.isFinite(x));

export interface ScenarioSummary {
  id: string;
  title: string;
  system: string;
  protocol: string;
  engine: string;
  rounds: number;
  ok: boolean;
  failures: string[];
  rps: number | null;
  rpsPerRound: number[];
  p50Ms: number | null;
  p99Ms: number | null;
  errors: number;
  non2xx: number;
  statusCodes: Record<string, number>;
  sutCpuPct: number | null;
  cpuUsPerReq: number | null;
  rssMB: number | null;
  hwmMB: number | null;
  loadgenCpuPct: number | null;
  depsCpuPct: number | null;
  otherCpuPct: number | null;
}

export function summarize(sc: Scenario, ms: Measurement[]): ScenarioSummary {
  const mine = ms.filter((m) => m.scenario === sc.id);
  const good = mine.filter((m) => m.ok);
  const statusCodes: Record<string, number> = {};
  for (const m of mine) for (const [k, v] of Object.entries(m.statusCodes)) statusCodes[k] = (statusCodes[k] ?? 0) + v;
  const last = mine.at(-1);
  return {
    id: sc.id,
    title: sc.title,
    system: sc.system,
    protocol: sc.protocol,
    engine: last?.engine ?? '',
    rounds: mine.length,
    ok: mine.length > 0 && good.length === mine.length,
    failures: mine.filter((m) => !m.ok).map((m) => `round ${m.round}: ${m.failure}`),
    rps: median(good.map((m) => m.rps)),
    rpsPerRound: mine.map((m) => m.rps),
    p50Ms: median(nums(good.map((m) => m.p50Ms))),
    p99Ms: median(nums(good.map((m) => m.p99Ms))),
    errors: mine.reduce((n, m) => n + m.errors, 0),
    non2xx: mine.reduce((n, m) => n + m.non2xx, 0),
    statusCodes,
    sutCpuPct: median(good.map((m) => m.sut.cpuPct)),
    cpuUsPerReq: median(nums(good.map((m) => m.sut.cpuUsPerReq))),
    rssMB: last?.sut.rssMB ?? null,
    hwmMB: nums(mine.map((m) => m.sut.hwmMB)).reduce<number | null>((a, b) => (a === null ? b : Math.max(a, b)), null),
    loadgenCpuPct: median(nums(good.map((m) => m.loadgenCpuPct))),
    depsCpuPct: median(nums(good.map((m) => m.depsCpuPct))),
    otherCpuPct: median(nums(mine.map((m) => m.otherCpuPct))),
  };
}

export interface RatioSummary {
  id: string;
  title: string;
  numerator: string;
  denominator: string;
  /** numerator req/s ÷ denominator req/s, per round where both were measured without failure. */
  rpsPerRound: number[];
  rps: number | null;
  /** denominator CPU µs/req ÷ numerator CPU µs/req (> 1: the numerator needs less CPU per request). */
  cpuPerRound: number[];
  cpu: number | null;
  target?: { min: number; source: string; met: boolean | null };
}

export function ratio(r: RatioDef, ms: Measurement[]): RatioSummary {
  const rps: number[] = [];
  const cpu: number[] = [];
  const rounds = new Set(ms.map((m) => m.round));
  for (const round of [...rounds].sort((a, b) => a - b)) {
    const n = ms.find((m) => m.scenario === r.numerator && m.round === round && m.ok);
    const d = ms.find((m) => m.scenario === r.denominator && m.round === round && m.ok);
    if (!n || !d) continue;
    if (d.rps > 0) rps.push(n.rps / d.rps);
    if (n.sut.cpuUsPerReq && d.sut.cpuUsPerReq) cpu.push(d.sut.cpuUsPerReq / n.sut.cpuUsPerReq);
  }
  const med = median(rps);
  return {
    id: r.id,
    title: r.title,
    numerator: r.numerator,
    denominator: r.denominator,
    rpsPerRound: rps,
    rps: med,
    cpuPerRound: cpu,
    cpu: median(cpu),
    ...(r.target ? { target: { ...r.target, met: med === null ? null : med >= r.target.min } } : {}),
  };
}

// ───────────────────────────── Markdown ─────────────────────────────

const f = (v: number | null | undefined, digits = 0) =>
  v === null || v === undefined || !Number.isFinite(v) ? '–' : v.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
const x = (v: number | null | undefined) => (v === null || v === undefined ? '–' : `${v.toFixed(2)}×`);

/** An extra measurement's rows (compile time…), with each row's goal checked. */
export interface ExtraSummary {
  id: string;
  title: string;
  /** Set when the measurement itself failed (the rows are then empty). */
  error?: string;
  rows: Array<ExtraRow & { met?: boolean | null }>;
}

export function checkExtraRow(r: ExtraRow): ExtraRow & { met?: boolean | null } {
  if (!r.target) return r;
  if (r.value === null) return { ...r, met: null };
  const okMax = r.target.max === undefined || r.value < r.target.max;
  const okMin = r.target.min === undefined || r.value >= r.target.min;
  return { ...r, met: okMax && okMin };
}

export interface MarkdownInput {
  header: string[];
  scenarios: ScenarioSummary[];
  ratios: RatioSummary[];
  extras?: ExtraSummary[];
  notes: string[];
}

export function markdown(m: MarkdownInput): string {
  const out: string[] = [...m.header, ''];
  out.push('| scenario | proto | req/s | p50 ms | p99 ms | errors / non-2xx | SUT CPU | CPU µs/req | RSS MB | peak RSS MB | load-gen CPU | other |');
  out.push('|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|');
  for (const s of m.scenarios) {
    const name = s.ok ? `\`${s.id}\`` : `\`${s.id}\` **FAILED**`;
    const rounds = s.rpsPerRound.length > 1 ? ` <sub>(${s.rpsPerRound.map((v) => f(v)).join(' / ')})</sub>` : '';
    out.push(
      `| ${name} | ${s.protocol === 'h2' ? 'h2' : 'h1.1'} | ${f(s.rps)}${rounds} | ${f(s.p50Ms, 2)} | ${f(s.p99Ms, 2)} | ${s.errors} / ${s.non2xx} | ` +
        `${f(s.sutCpuPct)}% | ${f(s.cpuUsPerReq, 1)} | ${f(s.rssMB)} | ${f(s.hwmMB)} | ${f(s.loadgenCpuPct)}% | ${f(s.otherCpuPct)}% |`,
    );
  }
  out.push('');
  out.push('| ratio (same run, median of per-round ratios) | req/s | per round | CPU per request (÷) | goal |');
  out.push('|---|--:|--:|--:|---|');
  for (const r of m.ratios) {
    const goal = r.target ? `≥ ${r.target.min}× (${r.target.source}) ${r.target.met === null ? '–' : r.target.met ? '✅' : '❌'}` : '';
    out.push(`| ${r.title} | ${x(r.rps)} | ${r.rpsPerRound.map((v) => v.toFixed(2)).join(', ') || '–'} | ${x(r.cpu)} | ${goal} |`);
  }
  if (m.extras && m.extras.length > 0) {
    out.push('');
    out.push('| other measurement | value | samples | goal |');
    out.push('|---|--:|--:|---|');
    for (const e of m.extras) {
      if (e.error) out.push(`| ${e.title} **FAILED** | – | ${e.error.split('\n')[0]!.replaceAll('|', '\\|')} | |`);
      for (const r of e.rows) {
        const digits = r.value !== null && Math.abs(r.value) < 10 ? 2 : r.value !== null && Math.abs(r.value) < 100 ? 1 : 0;
        const t = r.target;
        const goal = t
          ? `${t.max !== undefined ? `< ${t.max} ${r.unit}` : ''}${t.min !== undefined ? `≥ ${t.min} ${r.unit}` : ''} (${t.source}) ${r.met === null || r.met === undefined ? '–' : r.met ? '✅' : '❌'}`
          : '';
        const samples = r.samples && r.samples.length > 1 ? r.samples.map((v) => f(v, digits)).join(', ') : '';
        out.push(`| ${r.title} | ${f(r.value, digits)} ${r.unit} | ${samples} | ${goal} |`);
      }
    }
  }
  if (m.notes.length) out.push('', ...m.notes.map((n) => `- ${n}`));
  return out.join('\n') + '\n';
}
