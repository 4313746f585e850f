/**
 * The registry's web pages, rendered on the server (they work without JavaScript): the service list
 * with versions, weights, live instances and problems; one service; the register/edit form; the
 * dependency map (SVG, inline); the subscribers with their ACK/NACK state; a login form when a token
 * is required. Every value is escaped (html.ts).
 */
import type { NackEvent, RegistryView } from '../control-plane.ts';
import { TypeUrls } from '../../grpc/protos.ts';
import { clusterName } from '../compile.ts';
import type { ServiceDocument } from './document.ts';
import { withBlankRows, type FormValues } from './forms.ts';
import { html, raw, type Safe } from './html.ts';
import { topologyOf, topologySvg } from './topology.ts';
import { allServiceViews, type ServiceView } from './views.ts';

const CSS = `
*{box-sizing:border-box}body{margin:0;font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;color:#1f2328;background:#f6f8fa}
header{background:#24292f;color:#fff;padding:10px 24px;display:flex;gap:24px;align-items:center}
header a{color:#fff;text-decoration:none;opacity:.85}header a:hover{opacity:1;text-decoration:underline}
header .brand{font-weight:700;font-size:16px;opacity:1;margin-right:12px}
header .pill{margin-left:auto;font-size:12px;padding:3px 10px;border-radius:12px;background:#2da44e}
header .pill.bad{background:#cf222e}header .pill.wait{background:#9a6700}
main{padding:20px 24px;max-width:1280px}
h1{font-size:22px;margin:4px 0 12px}h2{font-size:17px;margin:28px 0 8px}
.card{background:#fff;border:1px solid #d0d7de;border-radius:8px;padding:14px 16px;margin:12px 0}
.banner{border-radius:8px;padding:10px 14px;margin:8px 0 14px;border:1px solid}
.banner.bad{background:#ffebe9;border-color:#ff8182}.banner.ok{background:#dafbe1;border-color:#4ac26b}.banner.warn{background:#fff8c5;border-color:#d4a72c}
table{border-collapse:collapse;width:100%;background:#fff}th,td{text-align:left;padding:7px 10px;border-bottom:1px solid #d8dee4;vertical-align:top}
th{background:#f6f8fa;font-weight:600;font-size:13px;color:#57606a}
a{color:#0969da}code,pre{font:12.5px ui-monospace,SFMono-Regular,Menlo,monospace}
pre{background:#f6f8fa;border:1px solid #d0d7de;border-radius:6px;padding:10px;overflow:auto;max-height:420px}
.muted{color:#57606a}.ok{color:#1a7f37}.bad{color:#cf222e}.small{font-size:12px}
.tag{display:inline-block;padding:1px 7px;border-radius:10px;background:#ddf4ff;color:#0969da;font-size:12px;margin:1px 2px}
.tag.bad{background:#ffebe9;color:#cf222e}.tag.ok{background:#dafbe1;color:#1a7f37}.tag.grey{background:#eaeef2;color:#57606a}
.bar{display:inline-block;height:8px;border-radius:4px;background:#2da44e;vertical-align:middle;margin-right:6px}
.bar.zero{background:#d0d7de;width:4px}
.version{white-space:nowrap;margin:1px 0}
.map{overflow:auto;background:#fff;border:1px solid #d0d7de;border-radius:8px;padding:6px}
form.edit label{display:block;font-weight:600;font-size:13px;margin:12px 0 4px}
form.edit input[type=text],form.edit textarea{width:100%;padding:6px 8px;border:1px solid #d0d7de;border-radius:6px;font:inherit}
form.edit td input{width:100%;padding:5px 6px;border:1px solid #d0d7de;border-radius:5px;font:inherit}
.hint{font-weight:400;color:#57606a;font-size:12px}
.deps{display:flex;flex-wrap:wrap;gap:4px 16px;margin:4px 0}.deps label{font-weight:400;margin:0}
button,.button{display:inline-block;background:#2da44e;color:#fff;border:1px solid #1a7f37;border-radius:6px;padding:6px 14px;font:600 14px system-ui,sans-serif;cursor:pointer;text-decoration:none}
button.danger{background:#fff;color:#cf222e;border-color:#cf222e}.actions{display:flex;gap:10px;align-items:center;margin-top:16px}
ul.errors{margin:6px 0;padding-left:20px}
`;

function plural(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : 's'}`;
}

function fmtTime(ms: number): string {
  return new Date(ms).toISOString().replace('T', ' ').replace(/\.\d+Z$/, ' UTC');
}

function shortType(typeUrl: string): string {
  return { [TypeUrls.cluster]: 'CDS', [TypeUrls.clusterLoadAssignment]: 'EDS', [TypeUrls.routeConfiguration]: 'RDS', [TypeUrls.listener]: 'LDS' }[typeUrl] ?? typeUrl;
}

function storePill(view: RegistryView): Safe {
  const s = view.store.status();
  const label = s.kind === 'etcd' ? 'etcd' : 'registry file';
  if (s.state === 'connected') return html`<span class="pill" data-store="connected">${label} connected</span>`;
  if (s.state === 'connecting') return html`<span class="pill wait" data-store="connecting">${label} connecting…</span>`;
  return html`<span class="pill bad" data-store="unreachable">${label} unreachable</span>`;
}

function storeBanner(view: RegistryView): Safe {
  const s = view.store.status();
  if (s.state !== 'unreachable') return html``;
  const what = s.kind === 'etcd' ? 'etcd is unreachable' : 'the registry file cannot be used';
  return html`<div class="banner bad" id="outage"><b>Outage:</b> ${what} since ${fmtTime(s.since)}${s.error ? html` (${s.error})` : ''}.
    Every gateway keeps being served snapshot <b>${view.snapshotVersion() ?? 'none'}</b>; changes cannot be saved until it is back.</div>`;
}

export function layout(view: RegistryView, title: string, body: Safe): string {
  return html`<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${title} · gatehouse registry</title><style>${raw(CSS)}</style></head>
<body><header><a class="brand" href="/">gatehouse registry</a><a href="/">Services</a><a href="/ui/new">Register a service</a><a href="/#map">Dependency map</a><a href="/#subscribers">Gateways</a>
${view.config.registry.token !== undefined ? html`<form method="post" action="/logout" style="margin:0"><button class="danger" style="padding:2px 8px;font-size:12px">log out</button></form>` : ''}
${storePill(view)}</header>
<main>${storeBanner(view)}${body}</main></body></html>`.value;
}

function versionCell(doc: ServiceDocument, sv: ServiceView): Safe {
  const total = doc.versions.reduce((s, v) => s + v.weight, 0);
  return html`${doc.versions.map((v) => {
    const pct = doc.versions.length === 1 ? 100 : total > 0 ? Math.round((v.weight / total) * 1000) / 10 : 0;
    const live = sv.instances[v.name]?.length ?? 0;
    const source = v.srv ? html`<span class="tag grey">SRV</span>` : v.endpoints ? html`<span class="muted small">${v.endpoints.length} static ·</span>` : '';
    return html`<div class="version" data-version="${v.name}"><span class="bar${pct === 0 ? ' zero' : ''}" style="width:${Math.max(4, Math.round(pct * 0.6))}px"></span><b>${v.name}</b> ${pct}% ${source}
      ${v.srv ? '' : html`<span class="${live > 0 ? 'ok' : 'muted'} small">${live} live</span>`}</div>`;
  })}`;
}

function statusCell(sv: ServiceView): Safe {
  if (sv.problems.length > 0) {
    return html`<span class="tag bad">left out</span><ul class="errors small bad">${sv.problems.map((p) => html`<li>${p}</li>`)}</ul>`;
  }
  return sv.served ? html`<span class="tag ok">served</span>` : html`<span class="tag grey">compiling…</span>`;
}

function exposeText(doc: ServiceDocument): Safe {
  if (doc.expose.length === 0) return html`<span class="muted">not exposed</span>`;
  return html`${doc.expose.map((e) => html`<div><code>${e.domains.join(', ')}${e.prefix}</code>${e.routeConfig !== 'gatehouse' ? html` <span class="tag grey">${e.routeConfig}</span>` : ''}</div>`)}`;
}

/** Above this many services the map draws only those with a dependency either way (the rest is a count). */
const MAP_ALL_UP_TO = 60;

export function mapSvg(view: RegistryView, views: ServiceView[], all = false): string {
  const state = view.store.state();
  const full = state ? topologyOf(state) : { services: [], edges: [] };
  const connected = new Set(full.edges.flatMap((e) => [e.from, e.to]));
  const topology = all || full.services.length <= MAP_ALL_UP_TO ? full : { services: full.services.filter((s) => connected.has(s)), edges: full.edges };
  const details = new Map<string, string>();
  for (const sv of views) {
    if (!sv.document) continue;
    const doc = sv.document;
    const total = doc.versions.reduce((s, v) => s + v.weight, 0);
    const versions = doc.versions.map((v) => (doc.versions.length === 1 || total === 0 ? v.name : `${v.name} ${Math.round((v.weight / total) * 100)}%`)).join(' · ');
    details.set(sv.name, `${doc.namespace} · ${versions}`);
  }
  return topologySvg(topology, {
    problems: new Set(views.filter((v) => v.problems.length > 0).map((v) => v.name)),
    details,
    href: (s) => `/ui/services/${encodeURIComponent(s)}`,
  });
}

function nackTable(nacks: NackEvent[]): Safe {
  return html`<table><tr><th>when</th><th>node</th><th>type</th><th>rejected version</th><th>error</th></tr>
  ${nacks.map((n) => html`<tr class="nack"><td class="small">${fmtTime(n.at)}</td><td>${n.node}</td><td>${shortType(n.typeUrl)}</td><td>${n.version}</td><td class="bad">${n.message}</td></tr>`)}</table>`;
}

function subscribersSection(view: RegistryView): Safe {
  const subs = view.subscribers();
  const nacks = view.recentNacks();
  return html`
<h2 id="subscribers">Gateways following this control plane</h2>
${subs.length === 0
  ? html`<p class="muted">No gateway is subscribed to this replica right now.</p>`
  : html`<table><tr><th>node</th><th>peer</th><th>connected</th><th>resources (acked / sent version)</th></tr>
  ${subs.map((s) => html`<tr data-node="${s.node}"><td><b>${s.node || '(unnamed)'}</b><div class="muted small">${s.cluster}</div></td><td><code>${s.peer}</code></td><td class="small">${fmtTime(s.connectedAt)}</td>
    <td>${s.types.map((t) => html`<div class="small">${shortType(t.typeUrl)}: ${t.subscribed === 'all' ? 'all' : plural(t.subscribed, 'name')},
      acked <b>${t.ackedVersion ?? '–'}</b> / sent ${t.sentVersion ?? '–'}
      ${t.nack ? html` <span class="tag bad" data-nack="${t.nack.version}">NACK of ${t.nack.version}</span> <span class="bad">${t.nack.message}</span>` : ''}</div>`)}</td></tr>`)}
  </table>`}
${nacks.length > 0
  ? html`<h2 id="nacks">Recent NACKs</h2><p class="muted small">A gateway that rejects a version keeps its last good one; the registry needs fixing, not the gateway.</p>${nackTable(nacks)}`
  : ''}`;
}

export function indexPage(view: RegistryView): string {
  const views = allServiceViews(view);
  const served = views.filter((v) => v.problems.length === 0).length;
  const broken = views.length - served;
  const rows = views.map((sv) => {
    const doc = sv.document;
    return html`<tr data-service="${sv.name}"><td><a href="/ui/services/${encodeURIComponent(sv.name)}"><b>${sv.name}</b></a>
        ${doc?.description ? html`<div class="muted small">${doc.description}</div>` : ''}</td>
      <td>${doc?.namespace ?? ''}</td><td class="small">${doc?.owners.join(', ') ?? ''}</td>
      <td>${doc ? versionCell(doc, sv) : ''}</td><td class="small">${doc ? exposeText(doc) : ''}</td>
      <td class="small">${doc?.dependsOn.map((d) => html`<span class="tag">${d}</span>`) ?? ''}</td><td>${statusCell(sv)}</td></tr>`;
  });
  const body = html`
<h1>Services</h1>
<p class="muted">${plural(views.length, 'service')} · <span class="ok">${served} served</span>${broken > 0 ? html` · <span class="bad">${broken} left out</span>` : ''}
 · snapshot version <b id="snapshot-version">${view.snapshotVersion() ?? 'none yet'}</b> · ${plural(view.subscribers().length, 'gateway')} subscribed</p>
${views.length === 0
  ? html`<div class="card">No service is registered yet. <a href="/ui/new">Register the first one</a>, or <code>PUT /services/&lt;name&gt;</code> a JSON document.</div>`
  : html`<table id="services"><tr><th>service</th><th>namespace</th><th>owners</th><th>versions · weight · instances</th><th>exposed at</th><th>depends on</th><th>status</th></tr>${rows}</table>`}
<h2 id="map">Dependency map</h2>
<p class="muted small">An arrow goes from a service to one it calls (<code>dependsOn</code>). Red: left out of the snapshot; dashed: names no registered service.
${views.length > MAP_ALL_UP_TO ? html` Services with no dependency either way are not drawn here (${views.length} services in all); the whole map: <a href="/topology.svg">/topology.svg</a>.` : ''}</p>
<div class="map">${raw(mapSvg(view, views))}</div>
${subscribersSection(view)}`;
  return layout(view, 'Services', body);
}

export function servicePage(view: RegistryView, sv: ServiceView): string {
  const doc = sv.document;
  const calledBy = allServiceViews(view)
    .filter((o) => o.document?.dependsOn.includes(sv.name))
    .map((o) => o.name);
  const clusters = new Set(doc?.versions.map((v) => clusterName(sv.name, v.name)) ?? []);
  const mentions = (msg: string) => [...clusters].some((c) => msg.includes(c)) || msg.includes(`${sv.name}/`);
  const versionRows = (doc?.versions ?? []).map((v) => {
    const live = sv.instances[v.name] ?? [];
    const source = v.srv
      ? html`SRV <code>${v.srv}</code> (refresh ${v.srvRefresh ?? '30s'})`
      : html`${(v.endpoints ?? []).map((e) => html`<div><code>${e}</code> <span class="muted small">static</span></div>`)}
        ${live.map((i) => html`<div class="instance"><code>${i.address}</code> <span class="muted small">lease ${i.lease} · since ${i.registeredAt}</span></div>`)}
        ${(v.endpoints ?? []).length + live.length === 0 ? html`<span class="muted">no endpoint yet: instances register with POST /services/${sv.name}/versions/${v.name}/instances</span>` : ''}`;
    const total = doc!.versions.reduce((n, x) => n + x.weight, 0);
    const share = doc!.versions.length === 1 ? 100 : total > 0 ? Math.round((v.weight / total) * 1000) / 10 : 0;
    return html`<tr><td><b>${v.name}</b><div class="muted small">cluster ${clusterName(sv.name, v.name)}</div></td><td>${v.weight} <span class="muted small">(${share}% of the traffic)</span></td><td>${source}</td></tr>`;
  });
  const body = html`
<h1>${sv.name} ${statusCell(sv)}</h1>
${sv.problems.length > 0 ? html`<div class="banner bad" id="problems"><b>Left out of the snapshot</b> — the other services are still served. Fix:<ul class="errors">${sv.problems.map((p) => html`<li>${p}</li>`)}</ul></div>` : ''}
${doc
  ? html`<div class="card"><div><span class="muted">namespace</span> <b>${doc.namespace}</b> · <span class="muted">owners</span> ${doc.owners.join(', ') || '–'} · <span class="muted">revision</span> <b>${sv.revision}</b></div>
  ${doc.description ? html`<p>${doc.description}</p>` : ''}
  <div><span class="muted">identity checked by gateways</span> <code>${doc.identity ?? `spiffe://${view.config.trustDomain}/ns/${doc.namespace}/sa/${doc.name}`}</code></div>
  <div><span class="muted">depends on</span> ${doc.dependsOn.length ? doc.dependsOn.map((d) => html`<a class="tag" href="/ui/services/${encodeURIComponent(d)}">${d}</a>`) : '–'}
   · <span class="muted">called by</span> ${calledBy.length ? calledBy.map((d) => html`<a class="tag" href="/ui/services/${encodeURIComponent(d)}">${d}</a>`) : '–'}</div></div>
<h2>Versions</h2><table><tr><th>version</th><th>weight</th><th>endpoints</th></tr>${versionRows}</table>
<h2>Exposed at</h2>${doc.expose.length === 0 ? html`<p class="muted">Not exposed on any gateway.</p>` : html`<table><tr><th>domains</th><th>prefix</th><th>timeout</th><th>retries</th><th>route config</th></tr>
  ${doc.expose.map((e) => html`<tr><td>${e.domains.join(', ')}</td><td><code>${e.prefix}</code></td><td>${e.timeout ?? 'default'}</td><td>${e.retries ? e.retries.attempts : '–'}</td><td>${e.routeConfig}</td></tr>`)}</table>`}`
  : html`<p class="bad">The stored document is not valid; edit it to repair it.</p>`}
<div class="actions"><a class="button" href="/ui/services/${encodeURIComponent(sv.name)}/edit">Edit</a>
<form method="post" action="/ui/services/${encodeURIComponent(sv.name)}/delete" style="margin:0"><input type="hidden" name="revision" value="${sv.revision}"><button class="danger" type="submit">Delete ${sv.name}</button></form></div>
<h2 id="nacks">Gateway rejections naming ${sv.name}</h2>
${(() => {
  const nacks = view.recentNacks().filter((n) => mentions(n.message));
  return nacks.length === 0 ? html`<p class="muted">No gateway has rejected a resource of ${sv.name} lately.</p>` : nackTable(nacks);
})()}
<h2>Document</h2><pre>${JSON.stringify(doc, null, 2)}</pre>`;
  return layout(view, sv.name, body);
}

export interface FormPageOptions {
  isNew: boolean;
  /** What the engineer's form amounts to (for the conflict's differences). */
  mine?: unknown;
  errors?: string[];
  /** Someone else saved meanwhile: their document, shown beside the engineer's form. */
  conflict?: { revision: number; document: unknown } | null;
  services: string[];
}

/** Where their document and the engineer's differ, key by key. */
function conflictTable(mine: unknown, theirs: unknown): Safe {
  const a = (mine ?? {}) as Record<string, unknown>;
  const b = (theirs ?? {}) as Record<string, unknown>;
  const show = (v: unknown) => (v === undefined ? '–' : JSON.stringify(v).slice(0, 160));
  const keys = [...new Set([...Object.keys(b), ...Object.keys(a)])].filter((k) => JSON.stringify(a[k]) !== JSON.stringify(b[k]));
  if (keys.length === 0) return html`<p>Your form and their document now say the same.</p>`;
  return html`<table class="small"><tr><th>field</th><th>yours</th><th>theirs</th></tr>${keys.map((k) => html`<tr><td><b>${k}</b></td><td><code>${show(a[k])}</code></td><td><code>${show(b[k])}</code></td></tr>`)}</table>`;
}

export function formPage(view: RegistryView, values: FormValues, opts: FormPageOptions): string {
  const v = withBlankRows(values);
  const others = opts.services.filter((s) => s !== values.name);
  const unknownDeps = values.dependsOn.filter((d) => !others.includes(d));
  const body = html`
<h1>${opts.isNew ? 'Register a service' : html`Edit ${values.name}`}</h1>
${opts.errors && opts.errors.length > 0 ? html`<div class="banner bad" id="form-errors"><b>Not saved</b> — fix these and save again:<ul class="errors">${opts.errors.map((e) => html`<li>${e}</li>`)}</ul></div>` : ''}
${opts.conflict !== undefined ? html`<div class="banner warn" id="conflict"><b>Not saved: someone else changed ${values.name} while you edited it</b>
  ${opts.conflict ? html`(now revision ${opts.conflict.revision}). Your edits are kept below; saving again replaces theirs.
  ${conflictTable(opts.mine, opts.conflict.document)}<details><summary>their whole document</summary><pre>${JSON.stringify(opts.conflict.document, null, 2)}</pre></details>` : '(it was deleted).'}</div>` : ''}
<form class="edit card" method="post" action="/ui/services">
<input type="hidden" name="revision" value="${opts.conflict ? String(opts.conflict.revision) : v.revision}">
<input type="hidden" name="mode" value="${opts.isNew ? 'create' : 'update'}">
<label for="name">Name <span class="hint">lower-case letters, digits and -; becomes the cluster names &lt;name&gt;-&lt;version&gt;</span></label>
<input type="text" id="name" name="name" value="${v.name}" ${opts.isNew ? '' : raw('readonly')} required>
<label for="namespace">Namespace <span class="hint">default: default</span></label><input type="text" id="namespace" name="namespace" value="${v.namespace}">
<label for="owners">Owners <span class="hint">comma-separated teams</span></label><input type="text" id="owners" name="owners" value="${v.owners}">
<label for="description">Description</label><input type="text" id="description" name="description" value="${v.description}">
<label for="identity">Identity <span class="hint">the SPIFFE ID gateways check; default spiffe://${view.config.trustDomain}/ns/&lt;namespace&gt;/sa/&lt;name&gt;</span></label>
<input type="text" id="identity" name="identity" value="${v.identity}">
<label>Depends on <span class="hint">the services it calls (the dependency map)</span></label>
<div class="deps">${others.length === 0 ? html`<span class="muted small">no other service registered yet</span>` : others.map((s) => html`<label><input type="checkbox" name="dependsOn" value="${s}" ${values.dependsOn.includes(s) ? raw('checked') : ''}> ${s}</label>`)}</div>
<input type="text" name="dependsOnOther" placeholder="others, not registered yet (comma-separated)" value="${unknownDeps.join(', ')}">
<label>Versions <span class="hint">one cluster each; weight = share of exposed traffic; endpoints ip:port (or leave empty for registered instances), or an SRV name</span></label>
<table><tr><th>name</th><th>weight</th><th>static endpoints</th><th>SRV name</th></tr>
${v.versions.map((row, i) => html`<tr><td><input name="v${i}.name" value="${row.name}" aria-label="version ${i + 1} name"></td><td><input name="v${i}.weight" value="${row.weight}" aria-label="version ${i + 1} weight"></td>
  <td><input name="v${i}.endpoints" value="${row.endpoints}" aria-label="version ${i + 1} endpoints"></td><td><input name="v${i}.srv" value="${row.srv}" aria-label="version ${i + 1} SRV name"></td></tr>`)}
</table>
<label>Exposed on the edge <span class="hint">routes on the gateways: domains (comma-separated), path prefix, timeout, retries; route config default gatehouse</span></label>
<table><tr><th>domains</th><th>prefix</th><th>timeout</th><th>retries</th><th>route config</th></tr>
${v.expose.map((row, i) => html`<tr><td><input name="e${i}.domains" value="${row.domains}" aria-label="expose ${i + 1} domains"></td><td><input name="e${i}.prefix" value="${row.prefix}" placeholder="/" aria-label="expose ${i + 1} prefix"></td>
  <td><input name="e${i}.timeout" value="${row.timeout}" placeholder="15s" aria-label="expose ${i + 1} timeout"></td><td><input name="e${i}.retries" value="${row.retries}" aria-label="expose ${i + 1} retries"></td>
  <td><input name="e${i}.routeConfig" value="${row.routeConfig}" placeholder="gatehouse" aria-label="expose ${i + 1} route config"></td></tr>`)}
</table>
<div class="actions"><button type="submit">${opts.isNew ? 'Register' : 'Save'}</button><a href="${opts.isNew ? '/' : `/ui/services/${encodeURIComponent(values.name)}`}">cancel</a>
<span class="muted small">Saved to the registry, compiled and pushed to every subscribed gateway within a second.</span></div>
</form>`;
  return layout(view, opts.isNew ? 'Register a service' : `Edit ${values.name}`, body);
}

export function loginPage(error: boolean): string {
  return html`<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Log in · gatehouse registry</title><style>${raw(CSS)}</style></head>
<body><header><span class="brand">gatehouse registry</span></header><main><h1>Log in</h1>
${error ? html`<div class="banner bad">That token is not right.</div>` : ''}
<form class="edit card" method="post" action="/login" style="max-width:420px"><label for="token">Registry token</label><input type="text" id="token" name="token" autocomplete="off" required>
<div class="actions"><button type="submit">Log in</button></div></form></main></body></html>`.value;
}

export function messagePage(view: RegistryView, title: string, message: string): string {
  return layout(view, title, html`<h1>${title}</h1><p>${message}</p><p><a href="/">Back to the services</a></p>`);
}
