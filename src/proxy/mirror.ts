import type { Dispatcher } from 'undici';
import type { MirrorPolicy } from '../router/types.ts';

// Request mirroring (shadow traffic): a fire-and-forget copy of the request to another cluster. Its
// answer is read and thrown away, its failure is ignored, and it never waits on or delays the client's
// request. Only requests without a body or with a small kept body are mirrored (see request-body.ts).
// As Envoy does, the copy's Host gets a `-shadow` suffix so the receiver can tell it apart.

export const MIRROR_TIMEOUT_MS = 10_000;

let mirrored = 0;
let mirrorFailures = 0;

/** Counters for tests and metrics. */
export function mirrorStats(): { sent: number; failed: number } {
  return { sent: mirrored, failed: mirrorFailures };
}

class DiscardHandler implements Dispatcher.DispatchHandler {
  constructor(private readonly release: () => void) {}
  onRequestStart(): void {}
  onResponseStart(): void {}
  onResponseData(): void {}
  onResponseEnd(): void {
    this.release();
  }
  onResponseError(): void {
    mirrorFailures++;
    this.release();
  }
}

/** Whether this request is picked for mirroring (by percent). */
export function mirrorSelected(p: MirrorPolicy | null): p is MirrorPolicy {
  return p !== null && (p.percent >= 100 || (p.percent > 0 && Math.random() * 100 < p.percent));
}

/**
 * Sends the copy. `headers` is the flat list built for the real upstream; it is copied, never changed.
 * `timeoutMs` bounds the copy (0: MIRROR_TIMEOUT_MS).
 */
export function sendMirror(
  p: MirrorPolicy,
  method: string,
  path: string,
  headers: readonly string[],
  body: Buffer | null,
  timeoutMs: number,
): void {
  try {
    const endpoint = p.cluster.pick({ hashKey: undefined });
    if (endpoint === null) {
      mirrorFailures++;
      return;
    }
    const h = headers.slice();
    for (let i = 0; i < h.length; i += 2) {
      if (h[i] === 'host') h[i + 1] = shadowHost(h[i + 1]);
    }
    endpoint.active++;
    mirrored++;
    const limit = timeoutMs > 0 ? timeoutMs : MIRROR_TIMEOUT_MS;
    endpoint.pool.dispatch(
      {
        path,
        // The cluster's SNI and verified name: without it undici would take the `-shadow` Host.
        servername: endpoint.servername,
        method: method as Dispatcher.HttpMethod,
        headers: h,
        body,
        headersTimeout: limit,
        bodyTimeout: limit,
      } as Dispatcher.DispatchOptions, // `servername` is read by undici but missing from its types
      new DiscardHandler(() => endpoint.active--),
    );
  } catch {
    mirrorFailures++; // a mirror must never affect the client
  }
}

/** `host:port` → `host-shadow:port`. */
export function shadowHost(authority: string): string {
  const colon = authority.lastIndexOf(':');
  if (colon > 0 && authority.indexOf(']') < colon && /^\d+$/.test(authority.slice(colon + 1))) {
    return `${authority.slice(0, colon)}-shadow${authority.slice(colon)}`;
  }
  return `${authority}-shadow`;
}
