import type { AuthzConfig, AuthzRuleConfig } from '../../config/schema.ts';
import { Errors } from '../../errors.ts';
import type { Exchange } from '../../exchange.ts';
import type { FilterResult, Rejection, RequestFilter } from '../filter.ts';
import { compileClaimPath } from '../authn/claims.ts';
import { compileHeaderTest } from '../../router/match.ts';
import { compileCidrs } from '../../util/cidr.ts';

// authz (SPEC "Precise semantics"): within a rule every listed condition must hold; deny rules are
// checked first and win; with allow rules present, anything no allow rule matches is denied.
// Path conditions are plain prefixes of the normalised path, as route prefixes are.

type Condition = (ex: Exchange) => boolean;
type Rule = Condition;

const DENIED: Rejection = Object.freeze({ error: Errors.forbidden });

function claimCondition(name: string, want: string | string[]): Condition {
  const get = compileClaimPath(name);
  const values = new Set(Array.isArray(want) ? want : [want]);
  const one = (v: unknown) =>
    typeof v === 'string' ? values.has(v) : (typeof v === 'number' || typeof v === 'boolean') && values.has(String(v));
  return (ex) => {
    const claims = ex.claims;
    if (claims === null) return false;
    const v = get(claims);
    if (Array.isArray(v)) {
      for (let i = 0; i < v.length; i++) if (one(v[i])) return true;
      return false;
    }
    return one(v);
  };
}

export function compileRule(r: AuthzRuleConfig): Rule {
  const conds: Condition[] = [];
  for (const [name, want] of Object.entries(r.claims ?? {})) conds.push(claimCondition(name, want));
  if (r.methods) {
    const methods = new Set(r.methods);
    conds.push((ex) => methods.has(ex.req.method ?? 'GET'));
  }
  if (r.paths) {
    const prefixes = [...r.paths];
    conds.push((ex) => {
      for (let i = 0; i < prefixes.length; i++) if (ex.path.startsWith(prefixes[i])) return true;
      return false;
    });
  }
  if (r.sourceCidrs) {
    const inRange = compileCidrs(r.sourceCidrs);
    conds.push((ex) => ex.clientIp !== '' && inRange(ex.clientIp, 0));
  }
  for (const h of r.headers ?? []) {
    const m = compileHeaderTest(h);
    conds.push((ex) => m(ex.req));
  }
  // A rule with no condition matches every request (`deny: [{}]` denies all).
  return (ex) => {
    for (let i = 0; i < conds.length; i++) if (!conds[i](ex)) return false;
    return true;
  };
}

export class AuthzFilter implements RequestFilter {
  readonly name = 'authz';
  private readonly allow: readonly Rule[] | null;
  private readonly deny: readonly Rule[];

  constructor(cfg: AuthzConfig) {
    this.deny = (cfg.deny ?? []).map(compileRule);
    this.allow = cfg.allow ? cfg.allow.map(compileRule) : null;
  }

  describe(): string {
    const allow = this.allow === null ? 'no allow rules (all else allowed)' : `${this.allow.length} allow rule(s)`;
    return `${this.deny.length} deny rule(s), ${allow}`;
  }

  onRequest(ex: Exchange): FilterResult {
    for (let i = 0; i < this.deny.length; i++) if (this.deny[i](ex)) return DENIED;
    const allow = this.allow;
    if (allow === null) return undefined;
    for (let i = 0; i < allow.length; i++) if (allow[i](ex)) return undefined;
    return DENIED;
  }
}

/** null when the config allows everything (no rules at all). */
export function compileAuthz(cfg: AuthzConfig | undefined): AuthzFilter | null {
  if (!cfg || (cfg.allow === undefined && (cfg.deny === undefined || cfg.deny.length === 0))) return null;
  return new AuthzFilter(cfg);
}
