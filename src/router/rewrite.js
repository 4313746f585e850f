// `prefixRewrite`: replaces the matched prefix (or the whole exact path) of the normalised path, and
// never produces a double slash (SPEC): with `prefix: /checkout` and `prefixRewrite: /`,
// `/checkout/x` → `/x` and `/checkout` → `/`; with `prefixRewrite: /v2`, `/checkout/x` → `/v2/x`.
// Otherwise the replacement is textual, as in Envoy (`/checkoutx` → `/v2x`).
export function compilePrefixRewrite(prefix, replacement) {
    const n = prefix.length;
    const slashEnd = replacement.endsWith('/');
    // `prefix: /api/` + `prefixRewrite: /v2`: `/api/x` → `/v2/x` (the slash the prefix consumed is put back).
    const prefixSlashEnd = prefix.endsWith('/');
    return (path) => {
        const rest = path.slice(n);
        if (rest === '')
            return replacement;
        if (slashEnd && rest.charCodeAt(0) === 0x2f)
            return replacement + rest.slice(1);
        if (prefixSlashEnd && !slashEnd)
            return `${replacement}/${rest}`;
        return replacement + rest;
    };
}
