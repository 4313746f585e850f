// A small JSON client for the registry's REST API in tests (real HTTP over loopback).

export interface Answer {
  status: number;
  etag: string | null;
  body: any;
  headers: Headers;
}

export async function call(base: string, method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<Answer> {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: { ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...headers },
    ...(body !== undefined ? { body: typeof body === 'string' ? body : JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = text === '' ? null : JSON.parse(text);
  } catch {
    // not JSON (a page)
  }
  return { status: res.status, etag: res.headers.get('etag'), body: parsed, headers: res.headers };
}

export const put = (base: string, name: string, doc: unknown, headers: Record<string, string> = {}) => call(base, 'PUT', `/services/${name}`, doc, headers);
export const get = (base: string, path: string, headers: Record<string, string> = {}) => call(base, 'GET', path, undefined, headers);

/** A service exposed on `domain` with static endpoints per version. */
export function exposedService(name: string, domain: string, versions: Array<{ name: string; weight?: number; endpoints?: string[]; srv?: string }>, extra: Record<string, unknown> = {}) {
  return { name, versions, expose: [{ domains: [domain], prefix: '/' }], ...extra };
}
