import type { Exchange } from '../../exchange.ts';
import { log } from '../../observability/logger.ts';
import type { BodyPart, CheckSettings } from './check-request.ts';
import type { Decision, FailureReason } from './decision.ts';

// One configured authorization service (a gRPC channel or an HTTP pool), shared by every route that
// names the same service and kept across reloads while its config and TLS files are unchanged.

export interface CheckInput {
  readonly ex: Exchange;
  readonly settings: CheckSettings;
  readonly timeoutMs: number;
  /** The body (or its first maxBytes) when the route asks for it. */
  readonly body: BodyPart | null;
}

export interface AuthzService {
  /** Config and TLS material it was built from: equal fingerprints share one service. */
  readonly fingerprint: string;
  /** Where it is, for logs (an address or URL without credentials). */
  readonly target: string;
  /** Resolves with the decision; rejects with a CheckFailure when there is none. */
  check(input: CheckInput): Promise<Decision>;
  /** Stops taking calls; closes its connections after `graceMs` (in-flight checks finish first). */
  close(graceMs?: number): void;
}

/**
 * Logs the start and the end of a service's outage, not every failed call (the decisions metric
 * counts those). Never logs what the service said: only the failure's class.
 */
export class OutageLog {
  private failing = false;

  constructor(private readonly target: string) {}

  failed(reason: FailureReason, detail: string): void {
    if (this.failing) return;
    this.failing = true;
    log.warn({ extAuthz: this.target, reason, detail }, 'ext_authz service failing');
  }

  succeeded(): void {
    if (!this.failing) return;
    this.failing = false;
    log.info({ extAuthz: this.target }, 'ext_authz service answering again');
  }
}
