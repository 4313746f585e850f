// The admin dashboard (GET /): one self-contained page, no build step, no library. It polls
// GET /stats (every second by default; `?interval=5` for 5 s), turns two readings into rates, and
// draws per-route and per-cluster request and error rates as small hand-drawn SVG charts, with the
// listeners, split weights, endpoint health and ejection, rate-limit hits, config version and xDS
// state. Every value is put in the page with textContent (never as HTML), so a route or cluster name
// cannot inject markup. The page is a constant: nothing of the config is baked into it.

const STYLE = `
:root { --bg:#f6f7f9; --card:#fff; --ink:#1d2330; --muted:#6b7280; --line:#e3e6eb; --blue:#2563eb; --red:#dc2626;
        --green:#16a34a; --amber:#d97706; --gray:#9ca3af; }
* { box-sizing: border-box; }
body { margin:0; font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif; color:var(--ink); background:var(--bg); }
header { display:flex; align-items:center; gap:16px; flex-wrap:wrap; padding:14px 24px; background:#111827; color:#f9fafb; }
header h1 { margin:0; font-size:20px; letter-spacing:.5px; }
.pill { display:inline-flex; align-items:center; gap:6px; padding:3px 10px; border-radius:999px; background:#1f2937; font-size:13px; }
.dot { width:9px; height:9px; border-radius:50%; display:inline-block; background:var(--gray); }
.dot.ok { background:var(--green); } .dot.bad { background:var(--red); } .dot.warn { background:var(--amber); }
main { padding:18px 24px 40px; display:grid; gap:18px; }
section { background:var(--card); border:1px solid var(--line); border-radius:10px; padding:14px 16px; }
section h2 { margin:0 0 10px; font-size:15px; text-transform:uppercase; letter-spacing:.6px; color:var(--muted); }
table { width:100%; border-collapse:collapse; }
th { text-align:left; font-weight:600; color:var(--muted); font-size:12px; text-transform:uppercase; letter-spacing:.4px; padding:6px 8px; border-bottom:1px solid var(--line); }
td { padding:8px; border-bottom:1px solid var(--line); vertical-align:middle; }
tr:last-child td { border-bottom:none; }
.num { text-align:right; font-variant-numeric:tabular-nums; white-space:nowrap; }
.big { font-size:16px; font-weight:600; }
.muted { color:var(--muted); font-size:12px; }
.err { color:var(--red); }
.tag { display:inline-block; padding:1px 7px; border-radius:6px; background:#eef2ff; color:#3730a3; font-size:12px; margin-right:4px; }
.tag.xds { background:#ecfdf5; color:#065f46; }
.bar { display:flex; height:10px; width:180px; border-radius:5px; overflow:hidden; background:var(--line); }
.bar span { display:block; height:100%; }
.legend { font-size:12px; color:var(--muted); margin-top:3px; }
.eps { display:flex; flex-wrap:wrap; gap:6px; }
.ep { display:inline-flex; align-items:center; gap:5px; padding:2px 8px; border:1px solid var(--line); border-radius:6px; font-size:12px; font-family:ui-monospace,monospace; }
.cards { display:flex; flex-wrap:wrap; gap:12px; }
.card { border:1px solid var(--line); border-radius:8px; padding:10px 14px; min-width:220px; }
.card .name { font-weight:600; }
#error { display:none; margin:0; padding:10px 14px; background:#fef2f2; color:#991b1b; border:1px solid #fecaca; border-radius:8px; white-space:pre-wrap; }
svg.spark { display:block; }
`;

const SCRIPT = `
const params = new URLSearchParams(location.search);
const INTERVAL = Math.max(0.5, Number(params.get('interval') || 1)) * 1000;
const POINTS = Math.min(240, Math.round(60000 / INTERVAL)); // one minute of readings
const COLORS = ['#2563eb', '#7c3aed', '#0891b2', '#ea580c', '#db2777', '#65a30d'];
function el(tag, attrs, ...kids) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === 'class') e.className = v; else if (k === 'style') e.style.cssText = v; else e.setAttribute(k, v);
  }
  for (const k of kids) if (k !== null && k !== undefined) e.append(k instanceof Node ? k : String(k));
  return e;
}
function svgEl(tag, attrs) {
  const e = document.createElementNS('http://www.w3.org/2000/svg', tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  return e;
}
function fmtRate(r) { return r >= 100 ? r.toFixed(0) : r >= 10 ? r.toFixed(1) : r.toFixed(2); }
function fmtInt(n) { return Math.round(n).toLocaleString('en-US'); }

const WINDOW_MS = 5000; // rates are averaged over the last 5 s, so bursty traffic reads steadily
const history = new Map(); // key → { readings: [{ t, req, err, bad }], series: [{ rps, eps }] }

/** Remembers a reading; returns the request, 5xx and 4xx rates (per second) over the last WINDOW_MS. */
function track(key, time, requests, errors, clientErrors) {
  let h = history.get(key);
  if (!h) history.set(key, (h = { readings: [], series: [] }));
  h.readings.push({ t: time, req: requests, err: errors, bad: clientErrors || 0 });
  while (h.readings.length > 2 && time - h.readings[1].t >= WINDOW_MS) h.readings.shift();
  const first = h.readings[0];
  const dt = (time - first.t) / 1000;
  const rate = (a, b) => (dt > 0 ? Math.max(0, a - b) / dt : 0);
  const r = { rps: rate(requests, first.req), eps: rate(errors, first.err), cps: rate(clientErrors || 0, first.bad) };
  if (h.readings.length > 1) {
    h.series.push(r);
    if (h.series.length > POINTS) h.series.shift();
  }
  return { ...r, series: h.series };
}

/** A small chart: requests/s (blue area) and errors/s (red line), last POINTS readings. */
function spark(series) {
  const W = 180, H = 38, P = 2;
  const svg = svgEl('svg', { class: 'spark', width: W, height: H, viewBox: '0 0 ' + W + ' ' + H, role: 'img' });
  svg.append(svgEl('rect', { x: 0, y: 0, width: W, height: H, rx: 4, fill: '#f8fafc', stroke: '#e3e6eb' }));
  if (series.length < 2) return svg;
  const max = Math.max(1, ...series.map((p) => p.rps));
  const x = (i) => P + (i * (W - 2 * P)) / (POINTS - 1) + (POINTS - series.length) * (W - 2 * P) / (POINTS - 1);
  const y = (v) => H - P - (v / max) * (H - 2 * P);
  const pts = series.map((p, i) => x(i).toFixed(1) + ',' + y(p.rps).toFixed(1)).join(' ');
  svg.append(svgEl('polygon', { points: x(0).toFixed(1) + ',' + (H - P) + ' ' + pts + ' ' + x(series.length - 1).toFixed(1) + ',' + (H - P), fill: 'rgba(37,99,235,.15)' }));
  svg.append(svgEl('polyline', { points: pts, fill: 'none', stroke: '#2563eb', 'stroke-width': 1.5 }));
  if (series.some((p) => p.eps > 0)) {
    const epts = series.map((p, i) => x(i).toFixed(1) + ',' + y(p.eps).toFixed(1)).join(' ');
    svg.append(svgEl('polyline', { points: epts, fill: 'none', stroke: '#dc2626', 'stroke-width': 1.5 }));
  }
  const title = svgEl('title', {}); title.textContent = 'peak ' + fmtRate(max) + ' req/s'; svg.append(title);
  return svg;
}

function splitBar(split) {
  const bar = el('div', { class: 'bar' });
  split.forEach((s, i) => bar.append(el('span', { style: 'width:' + s.percent + '%;background:' + COLORS[i % COLORS.length], title: s.cluster + ' ' + s.percent + '%' })));
  const legend = el('div', { class: 'legend' }, split.map((s) => s.cluster + ' ' + s.percent + '%').join(' · '));
  return el('div', {}, bar, legend);
}

function rateCells(r, showClientErrors) {
  const errPct = r.rps > 0 ? (100 * r.eps) / r.rps : 0;
  const detail = fmtRate(r.eps) + ' 5xx/s' + (showClientErrors ? ' · ' + fmtRate(r.cps) + ' 4xx/s' : '');
  return [
    el('td', { class: 'num' }, el('div', { class: 'big rps' }, fmtRate(r.rps)), el('div', { class: 'muted' }, 'req/s')),
    el('td', { class: 'num' }, el('div', { class: 'big ' + (r.eps > 0 ? 'err' : '') }, errPct.toFixed(1) + '%'), el('div', { class: 'muted' }, detail)),
    el('td', {}, spark(r.series)),
  ];
}

/** The filters worth a chip: the identity-header guard runs everywhere, the internal token only after authn. */
function shownFilters(filters) {
  return filters.filter((f) => f !== 'identity-header-guard' && (f !== 'internal-token' || filters.includes('authn')));
}

function pill(text, state) { return el('span', { class: 'pill' }, el('span', { class: 'dot ' + (state || '') }), text); }

function render(s) {
  const head = document.getElementById('status');
  head.replaceChildren(...[
    pill(s.ready ? 'ready' : 'not ready', s.ready ? 'ok' : 'bad'),
    s.draining ? pill('draining', 'warn') : null,
    pill('config v' + (s.version ?? '–'), s.lastReloadError ? 'warn' : 'ok'),
    pill(s.inflight + ' in flight'),
    s.workers ? pill(s.workers + ' workers', 'ok') : null,
    pill(s.xds ? 'xDS ' + s.xds.server : 'xDS off', s.xds ? 'ok' : ''),
    pill(s.tracing ? 'tracing ' + Math.round(s.tracing.sampleRatio * 100) + '%' : 'tracing off', s.tracing ? 'ok' : ''),
  ].filter(Boolean));
  const error = document.getElementById('error');
  if (s.lastReloadError) { error.style.display = 'block'; error.textContent = 'Last reload rejected (the previous config keeps serving):\\n' + s.lastReloadError.join('\\n'); }
  else error.style.display = 'none';

  document.getElementById('listeners').replaceChildren(...s.listeners.map((l) =>
    el('div', { class: 'card' }, el('div', { class: 'name' }, l.name), el('div', { class: 'muted' }, l.address || ''),
      el('div', {}, 'connections: ' + l.connections['http/1.1'] + ' h1 · ' + l.connections.h2 + ' h2'),
      el('div', {}, 'requests: ' + fmtInt(l.requests) + ' · active ' + (l.activeRequests['http/1.1'] + l.activeRequests.h2)))));

  const routes = document.getElementById('routes');
  routes.replaceChildren(...s.routes.map((r) => {
    const rate = track('route:' + r.virtualHost + '/' + r.name, s.time, r.requests, r.errors, r.byClass['4xx']);
    const target = r.action === 'forward' ? (r.split.length > 1 ? splitBar(r.split) : el('span', {}, r.split[0]?.cluster ?? '')) : el('span', { class: 'muted' }, r.action);
    return el('tr', { 'data-route': r.virtualHost + '/' + r.name },
      el('td', {}, el('div', { class: 'big' }, r.name), el('div', { class: 'muted' }, r.virtualHost + ' · ' + r.match)),
      el('td', {}, el('span', { class: 'tag ' + r.origin }, r.origin), ...shownFilters(r.filters).map((f) => el('span', { class: 'tag' }, f))),
      el('td', {}, target),
      el('td', { class: 'num requests' }, fmtInt(r.requests)),
      ...rateCells(rate, true));
  }));
  const unrouted = track('unrouted', s.time, s.unrouted.requests, s.unrouted.errors);
  document.getElementById('unrouted').textContent = fmtInt(s.unrouted.requests) + ' requests matched no route (' + fmtRate(unrouted.rps) + '/s)';

  const clusters = document.getElementById('clusters');
  clusters.replaceChildren(...s.clusters.map((c) => {
    const rate = track('cluster:' + c.name, s.time, c.requests, c.errors);
    const eps = el('div', { class: 'eps' }, ...c.endpoints.map((e) => {
      const state = !e.healthy ? 'bad' : e.ejected ? 'warn' : 'ok';
      return el('span', { class: 'ep', title: (e.healthy ? 'healthy' : 'failing health checks') + (e.ejected ? ', ejected' : '') + ' · ' + e.active + ' active' },
        el('span', { class: 'dot ' + state }), e.address, e.ejected ? ' ejected' : '');
    }));
    return el('tr', { 'data-cluster': c.name },
      el('td', {}, el('div', { class: 'big' }, c.name), el('div', { class: 'muted' }, c.policy + ' · ' + c.discovery + (c.panic ? ' · PANIC' : ''))),
      el('td', {}, c.endpoints.length ? eps : el('span', { class: 'err' }, 'no endpoints')),
      el('td', { class: 'num requests' }, fmtInt(c.requests)),
      ...rateCells(rate, false));
  }));

  const limits = document.getElementById('ratelimits');
  limits.replaceChildren(...(s.rateLimits.length ? s.rateLimits.map((p) => {
    const rate = track('limit:' + p.policy, s.time, p.allowed + p.limited, p.limited);
    return el('tr', { 'data-policy': p.policy }, el('td', { class: 'big' }, p.policy), el('td', { class: 'num' }, fmtInt(p.allowed)),
      el('td', { class: 'num limited ' + (p.limited > 0 ? 'err' : '') }, fmtInt(p.limited)), el('td', { class: 'num' }, fmtRate(rate.eps) + '/s'));
  }) : [el('tr', {}, el('td', { class: 'muted', colspan: 4 }, 'no rate-limit policies'))]));
  document.getElementById('updated').textContent = 'updated ' + new Date(s.time).toLocaleTimeString();
}

async function poll() {
  let stats = null;
  try {
    const res = await fetch('/stats', { cache: 'no-store' });
    if (res.ok) stats = await res.json();
    else document.getElementById('updated').textContent = '/stats answered ' + res.status;
  } catch (e) {
    document.getElementById('updated').textContent = 'gateway unreachable';
  }
  setTimeout(poll, INTERVAL);
  if (stats !== null) render(stats);
}
poll();
`;

const PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>gatehouse</title><style>${STYLE}</style></head>
<body>
<header><h1>gatehouse</h1><div id="status" style="display:flex;gap:8px;flex-wrap:wrap"></div><span id="updated" class="muted" style="margin-left:auto;color:#9ca3af"></span></header>
<main>
<pre id="error"></pre>
<section><h2>Listeners</h2><div id="listeners" class="cards"></div></section>
<section><h2>Routes</h2>
<table><thead><tr><th>route</th><th>origin · filters</th><th>destination · split</th><th class="num">requests</th><th class="num">rate</th><th class="num">5xx errors</th><th>last minute</th></tr></thead>
<tbody id="routes"></tbody></table><p id="unrouted" class="muted"></p></section>
<section><h2>Clusters</h2>
<table><thead><tr><th>cluster</th><th>endpoints</th><th class="num">upstream tries</th><th class="num">rate</th><th class="num">failed tries</th><th>last minute</th></tr></thead>
<tbody id="clusters"></tbody></table></section>
<section><h2>Rate limits</h2>
<table><thead><tr><th>policy</th><th class="num">allowed</th><th class="num">limited</th><th class="num">limited now</th></tr></thead>
<tbody id="ratelimits"></tbody></table></section>
</main>
<script>${SCRIPT}</script>
</body></html>`;

export function dashboardHtml(): string {
  return PAGE;
}
