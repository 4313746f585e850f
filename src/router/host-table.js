// Virtual-host choice (SPEC): the Host/:authority without its port, case-insensitive; an exact domain
// wins, then the longest `*.suffix`, then `*`. Lookups are Map hits; wildcard suffixes are tried
// from the longest dotted suffix of the host down, so cost grows with the host's labels, not the
// number of virtual hosts.
export class HostTable {
    exact = new Map();
    suffix = new Map(); // ".example.com" → host
    star = null;
    add(domain, vhost) {
        const d = domain.toLowerCase();
        if (d === '*')
            this.star ??= vhost;
        else if (d.startsWith('*.')) {
            if (!this.suffix.has(d.slice(1)))
                this.suffix.set(d.slice(1), vhost);
        }
        else if (!this.exact.has(d))
            this.exact.set(d, vhost);
    }
    /** `authority` may carry a port and any case; returns null when no virtual host matches. */
    lookup(authority) {
        if (!authority)
            return this.star;
        const host = hostWithoutPort(authority);
        const hit = this.exact.get(host);
        if (hit)
            return hit;
        if (this.suffix.size > 0) {
            // try ".b.c.d", then ".c.d", then ".d": the first hit is the longest suffix
            let dot = host.indexOf('.');
            while (dot !== -1) {
                const s = this.suffix.get(host.slice(dot));
                if (s)
                    return s;
                dot = host.indexOf('.', dot + 1);
            }
        }
        return this.star;
    }
}
/** Lower-cased host of an authority: strips ":port" and the brackets of an IPv6 literal. */
export function hostWithoutPort(authority) {
    let end = authority.length;
    if (authority.charCodeAt(0) === 0x5b /* [ */) {
        const close = authority.indexOf(']');
        return (close === -1 ? authority : authority.slice(1, close)).toLowerCase();
    }
    const colon = authority.lastIndexOf(':');
    if (colon !== -1)
        end = colon;
    const h = end === authority.length ? authority : authority.slice(0, end);
    // Most clients send lower case: avoid the copy when there is nothing to lower.
    return /[A-Z]/.test(h) ? h.toLowerCase() : h;
}
