import { errorBody, Errors } from '../../errors.ts';
import type { Exchange } from '../../exchange.ts';
import { log } from '../../observability/logger.ts';
import { BodyTooLargeError, keepSmallBody, requestBody, requestHasBody } from '../../request-body.ts';
import type { FilterResult, Rejection, RequestFilter } from '../filter.ts';
import { applyAllow } from './apply.ts';
import type { BodyPart, CheckSettings } from './check-request.ts';
import { CheckFailure, type Deny } from './decision.ts';
import { checkDuration, decisionCounts } from './metrics.ts';
import type { AuthzService } from './service.ts';

// The per-route ext_authz filter: one Check per request (after authn and authz, before the
// claim-keyed rate limits). With `withRequestBody` it first reads up to maxBytes of the body (kept
// for the upstream: see request-body.ts). An OK answer's header edits go toward the upstream and the
// client's response; a denial is answered with the service's status, headers and body; a failure is
// 403 ext_authz_error, or lets the request through with `failureModeAllow` (and tells the upstream so).

/** Set toward the upstream when failureModeAllow let a request through (Envoy's header). */
export const FAILURE_MODE_HEADER = 'x-envoy-auth-failure-mode-allowed';

export interface ExtAuthzSettings {
  readonly timeoutMs: number;
  readonly failureModeAllow: boolean;
  /** withRequestBody.maxBytes, or null: no body is sent. */
  readonly maxBodyBytes: number | null;
  readonly check: CheckSettings;
}

const FAILED: Rejection = Object.freeze({ error: Errors.extAuthzError });
const BODY_TOO_LARGE: Rejection = Object.freeze({ error: Errors.bodyTooLarge, closeConnection: true });
const BAD_BODY: Rejection = Object.freeze({ error: Errors.badRequest, closeConnection: true });

function denial(ex: Exchange, d: Deny): Rejection {
  if (d.body.length > 0) return { error: Errors.extAuthzDenied, response: { status: d.status, headers: d.headers, body: d.body } };
  // No body from the service: the gateway's JSON error, with the service's status and headers.
  const headers = { ...d.headers, 'content-type': 'application/json', 'cache-control': 'no-store' };
  const body = Buffer.from(errorBody(Errors.extAuthzDenied, ex.requestId));
  return { error: Errors.extAuthzDenied, response: { status: d.status, headers, body, grpcMessage: Errors.extAuthzDenied.message } };
}

export class ExtAuthzFilter implements RequestFilter {
  readonly name = 'ext-authz';

  constructor(
    private readonly service: AuthzService,
    private readonly s: ExtAuthzSettings,
  ) {}

  onRequest(ex: Exchange): Promise<FilterResult> {
    // Only the gateway may tell the upstream that authorization was skipped.
    (ex.upstreamHeadersRemove ??= new Set()).add(FAILURE_MODE_HEADER);
    if (this.s.maxBodyBytes !== null && ex.prefetchedBody === null && requestHasBody(ex)) return this.readBodyThenCheck(ex, this.s.maxBodyBytes);
    return this.check(ex, null);
  }

  private readBodyThenCheck(ex: Exchange, maxBytes: number): Promise<FilterResult> {
    const cl = ex.req.headers['content-length'];
    return new Promise((resolve) => {
      keepSmallBody(
        requestBody(ex),
        cl !== undefined ? Number(cl) : null,
        maxBytes,
        ex.view.listener.limits.maxBodyBytes,
        (r) => {
          if (r.kind === 'error') {
            resolve(r.error instanceof BodyTooLargeError ? BODY_TOO_LARGE : BAD_BODY);
            return;
          }
          ex.prefetchedBody = r.body;
          const part: BodyPart = r.kind === 'kept' ? { bytes: r.body, partial: false } : { bytes: r.head, partial: true };
          resolve(this.check(ex, part));
        },
        true,
      );
    });
  }

  private check(ex: Exchange, body: BodyPart | null): Promise<FilterResult> {
    const started = performance.now();
    let call: Promise<FilterResult>;
    try {
      call = this.service.check({ ex, settings: this.s.check, timeoutMs: this.s.timeoutMs, body }).then((d) => {
        checkDuration.observe((performance.now() - started) / 1000);
        if (d.kind === 'deny') {
          decisionCounts.denied++;
          return denial(ex, d);
        }
        applyAllow(ex, d);
        decisionCounts.allowed++;
        return undefined;
      });
    } catch (err) {
      call = Promise.reject(err);
    }
    return call.catch((err: unknown) => this.failed(ex, err, started));
  }

  private failed(ex: Exchange, err: unknown, started: number): FilterResult {
    checkDuration.observe((performance.now() - started) / 1000);
    // A CheckFailure was logged by the service (once per outage); anything else is a bug of ours.
    if (!(err instanceof CheckFailure)) log.error({ err, extAuthz: this.service.target }, 'ext_authz check failed unexpectedly');
    if (this.s.failureModeAllow) {
      decisionCounts.failure_mode_allowed++;
      (ex.upstreamHeadersAdd ??= []).push(FAILURE_MODE_HEADER, 'true');
      return undefined;
    }
    decisionCounts.error++;
    return FAILED;
  }
}
