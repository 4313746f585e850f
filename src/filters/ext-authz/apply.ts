import type { Exchange } from '../../exchange.ts';
import { isManaged, type Allow, type HeaderEdit } from './decision.ts';

// An OK answer's edits, applied through the Exchange's header-edit fields: the request toward the
// upstream is the client's headers minus `upstreamHeadersRemove`, plus `upstreamHeadersAdd`.
// Headers the gateway owns (Host, framing, hop-by-hop, X-Forwarded-*, X-Request-Id) and pseudo-headers
// are left alone, as Envoy refuses to remove them.

function isPresent(ex: Exchange, name: string): boolean {
  const removed = ex.upstreamHeadersRemove;
  if (ex.req.headers[name] !== undefined && (removed === null || !removed.has(name))) return true;
  const added = ex.upstreamHeadersAdd;
  if (added !== null) for (let i = 0; i < added.length; i += 2) if (added[i] === name) return true;
  return false;
}

/** Removes every value of `name` toward the upstream: the client's and any an earlier filter added. */
function removeAll(ex: Exchange, name: string): void {
  (ex.upstreamHeadersRemove ??= new Set()).add(name);
  const added = ex.upstreamHeadersAdd;
  if (added === null) return;
  for (let i = added.length - 2; i >= 0; i -= 2) if (added[i] === name) added.splice(i, 2);
}

function applyUpstream(ex: Exchange, e: HeaderEdit): void {
  switch (e.action) {
    case 'append':
      break;
    case 'add_if_absent':
      if (isPresent(ex, e.name)) return;
      break;
    case 'overwrite_if_exists':
      if (!isPresent(ex, e.name)) return;
      removeAll(ex, e.name);
      break;
    case 'overwrite':
      removeAll(ex, e.name);
      break;
  }
  (ex.upstreamHeadersAdd ??= []).push(e.name, e.value);
}

/**
 * Response side: the upstream's headers are not known yet, so `overwrite*` replaces a header of that
 * name whatever it holds, and `append` / `add_if_absent` add a value.
 */
function applyResponse(ex: Exchange, e: HeaderEdit): void {
  if (e.action === 'overwrite' || e.action === 'overwrite_if_exists') (ex.responseHeadersAdd ??= []).push(e.name, e.value);
  else (ex.responseHeadersAppend ??= []).push(e.name, e.value);
}

export function applyAllow(ex: Exchange, d: Allow): void {
  for (const e of d.upstream) if (!isManaged(e.name)) applyUpstream(ex, e);
  for (const name of d.remove) if (!isManaged(name)) removeAll(ex, name);
  for (const e of d.response) if (!isManaged(e.name)) applyResponse(ex, e);
}
