import type { Exchange } from '../../exchange.ts';
import type { FilterResult, RequestFilter } from '../filter.ts';
import type { InternalTokenMinter } from './minter.ts';

// Adds the internal token header (`Bearer <jwt>`) for an authenticated request. Placed after authz,
// so denied requests cost no signature. The client's own copy of the header is removed by the
// authn filter or the identity-header guard that every route carries when tokens are configured.

export class InternalTokenFilter implements RequestFilter {
  readonly name = 'internal-token';

  constructor(private readonly minter: InternalTokenMinter) {}

  describe(): string {
    return `mints ${this.minter.header} for authenticated requests`;
  }

  onRequest(ex: Exchange): FilterResult | Promise<FilterResult> {
    const claims = ex.claims;
    if (claims === null) return undefined; // anonymous: no edge identity, no token
    const v = this.minter.tokenFor(claims);
    if (typeof v === 'string') {
      (ex.upstreamHeadersAdd ??= []).push(this.minter.header, v);
      return undefined;
    }
    return v.then((value) => {
      (ex.upstreamHeadersAdd ??= []).push(this.minter.header, value);
      return undefined;
    });
  }
}
