import type { AdminState } from './state.ts';

// A small read-only page: routes, clusters, endpoints and live counters. Values are escaped.

function esc(s: unknown): string {
  return String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

export function dashboardHtml(state: AdminState): string {
  const gen = state.current;
  const rows: string[] = [];
  if (gen) {
    for (const vh of gen.config.virtualHosts) {
      for (const r of vh.routes) {
        const target = r.route?.cluster ?? (r.redirect ? `redirect ${r.redirect.to}` : r.directResponse ? `direct ${r.directResponse.status}` : '');
        rows.push(`<tr><td>${esc(vh.name)}</td><td>${esc(r.name)}</td><td>${esc(JSON.stringify(r.match))}</td><td>${esc(target)}</td></tr>`);
      }
    }
  }
  const clusters = gen
    ? [...gen.clusters.values()]
        .map((c) => {
          const s = c.summary();
          const eps = s.endpoints
            .map((e) => `<li>${esc(e.address)} weight ${e.weight} ${e.healthy ? 'healthy' : 'unhealthy'}${e.ejected ? ' ejected' : ''} · ${e.active} active</li>`)
            .join('');
          return `<h3>${esc(s.name)}</h3><ul>${eps}</ul>`;
        })
        .join('')
    : '';
  return `<!doctype html><html><head><meta charset="utf-8"><title>gatehouse</title>
<style>body{font:14px system-ui,sans-serif;margin:2em}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:4px 8px}</style></head>
<body><h1>gatehouse</h1>
<p>config version ${esc(gen?.version ?? '-')} · ${state.ready ? 'ready' : 'not ready'}${state.draining ? ' · draining' : ''} · ${state.inflight} requests in flight</p>
${state.lastReloadError ? `<p><b>last reload rejected:</b></p><pre>${esc(state.lastReloadError.join('\n'))}</pre>` : ''}
<h2>Routes</h2><table><tr><th>virtual host</th><th>route</th><th>match</th><th>target</th></tr>${rows.join('')}</table>
<h2>Clusters</h2>${clusters}</body></html>`;
}
