import { Pool, type Dispatcher } from 'undici';
import { currentHeader, PARTIAL_BODY_HEADER } from './check-request.ts';
import {
  CheckFailure,
  denialStatus,
  headerName,
  headerValue,
  isManaged,
  type Decision,
  type HeaderEdit,
} from './decision.ts';
import { OutageLog, type AuthzService, type CheckInput } from './service.ts';

// The HTTP form (Envoy's HTTP ext_authz service, Traefik's forwardAuth): the request's method, and its
// path and query appended to the url's path (Envoy's path_prefix), with only the `headersToServer`
// headers (as the request stands after authn), the X-Forwarded-* headers forwardAuth services read,
// and no body unless `withRequestBody`. A 2xx answer allows and copies `headersFromServer` toward the
// upstream (replacing the client's); `x-envoy-auth-headers-to-remove` (comma-separated names) removes
// request headers. Any other status denies with that status, the service's headers and its body.

/** A denial body larger than this is not relayed: the answer counts as invalid (403 ext_authz_error). */
export const MAX_DENIAL_BODY_BYTES = 64 * 1024;

const HEADERS_TO_REMOVE = 'x-envoy-auth-headers-to-remove';

export interface HttpServiceConfig {
  readonly url: string;
  readonly headersToServer: readonly string[];
  readonly headersFromServer: readonly string[];
}

function failure(err: unknown): CheckFailure {
  const code = String((err as { code?: unknown })?.code ?? '');
  if (code.startsWith('HPE_') || code === 'UND_ERR_INFO' || code === 'UND_ERR_RES_CONTENT_LENGTH_MISMATCH') {
    return new CheckFailure('invalid_answer', code);
  }
  if (code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT') return new CheckFailure('timeout', code);
  return new CheckFailure('unavailable', code || 'request failed');
}

async function readLimited(body: Dispatcher.ResponseData['body'], max: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    size += (chunk as Buffer).length;
    if (size > max) {
      body.destroy();
      throw new CheckFailure('invalid_answer', `denial body over ${max} bytes`);
    }
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks, size);
}

function one(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v.join(', ') : v;
}

export class HttpAuthzService implements AuthzService {
  readonly target: string;
  private readonly pool: Pool;
  /** The url's path without a trailing slash ('' for '/'): the request's path is appended to it. */
  private readonly basePath: string;
  private readonly toServer: readonly string[];
  private readonly fromServer: readonly string[];
  private readonly outage: OutageLog;

  constructor(
    readonly fingerprint: string,
    cfg: HttpServiceConfig,
  ) {
    const url = new URL(cfg.url);
    this.target = `${url.origin}${url.pathname}`; // never the userinfo
    this.basePath = url.pathname.replace(/\/+$/, '');
    this.toServer = cfg.headersToServer.map((h) => h.toLowerCase());
    this.fromServer = cfg.headersFromServer.map((h) => h.toLowerCase());
    // https: the system CAs, verification on (undici's default, never turned off here).
    this.pool = new Pool(url.origin, { connections: 64, keepAliveTimeout: 30_000 });
    this.outage = new OutageLog(this.target);
  }

  async check(input: CheckInput): Promise<Decision> {
    const ex = input.ex;
    const method = ex.req.method ?? 'GET';
    const pathAndQuery = ex.path + ex.query;
    const headers: string[] = [];
    for (const name of this.toServer) {
      const v = currentHeader(ex, name);
      if (v !== undefined) headers.push(name, v);
    }
    headers.push(
      'x-forwarded-method', method,
      'x-forwarded-uri', pathAndQuery,
      'x-forwarded-host', ex.authority,
      'x-forwarded-proto', 'https',
      'x-forwarded-for', ex.clientIp,
      'x-request-id', ex.requestId,
    );
    if (input.body !== null) headers.push(PARTIAL_BODY_HEADER, input.body.partial ? 'true' : 'false');

    const abort = new AbortController();
    const timer = setTimeout(() => abort.abort(), input.timeoutMs);
    try {
      const res = await this.pool.request({
        method: method as Dispatcher.HttpMethod,
        path: this.basePath + pathAndQuery,
        headers,
        body: input.body?.bytes ?? null,
        signal: abort.signal,
      });
      const decision =
        res.statusCode >= 200 && res.statusCode < 300
          ? (await res.body.dump(), this.allowed(res.headers))
          : await this.denied(res);
      this.outage.succeeded();
      return decision;
    } catch (err) {
      const f = err instanceof CheckFailure ? err : abort.signal.aborted ? new CheckFailure('timeout', 'timeout') : failure(err);
      this.outage.failed(f.reason, f.message);
      throw f;
    } finally {
      clearTimeout(timer);
    }
  }

  private allowed(h: Record<string, string | string[] | undefined>): Decision {
    const upstream: HeaderEdit[] = [];
    for (const name of this.fromServer) {
      const v = one(h[name]);
      if (v !== undefined) upstream.push({ name, value: headerValue(v), action: 'overwrite' });
    }
    const list = one(h[HEADERS_TO_REMOVE]);
    const remove = list === undefined ? [] : list.split(',').map((n) => n.trim()).filter((n) => n !== '').map(headerName);
    return { kind: 'allow', upstream, remove, response: [] };
  }

  private async denied(res: Dispatcher.ResponseData): Promise<Decision> {
    const body = await readLimited(res.body, MAX_DENIAL_BODY_BYTES);
    const status = denialStatus(res.statusCode);
    const headers: Record<string, string | string[]> = Object.create(null);
    for (const [rawName, v] of Object.entries(res.headers)) {
      if (v === undefined) continue;
      const name = headerName(rawName);
      if (isManaged(name) || name === HEADERS_TO_REMOVE) continue;
      headers[name] = Array.isArray(v) ? v.map(headerValue) : headerValue(v);
    }
    return { kind: 'deny', status, headers, body };
  }

  close(graceMs = 0): void {
    const destroy = () => void this.pool.destroy().catch(() => undefined);
    if (graceMs <= 0) destroy();
    else setTimeout(destroy, graceMs).unref(); // checks of the replaced generation may still be running
  }
}
