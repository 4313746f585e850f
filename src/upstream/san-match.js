export function compileSanMatcher(entries) {
    const exactUris = new Set();
    const exactDns = new Set();
    const prefixes = [];
    for (const e of entries) {
        if (e.startsWith('prefix:'))
            prefixes.push(e.slice(7));
        else if (e.includes('://'))
            exactUris.add(e);
        else
            exactDns.add(e.toLowerCase());
    }
    return { exactUris, exactDns, prefixes };
}
/** The certificate's SANs as { uris, dns }; Node quotes values holding separators, so unquote them. */
export function parseSubjectAltNames(san) {
    const uris = [];
    const dns = [];
    if (!san)
        return { uris, dns };
    const re = /(DNS|URI|IP Address|email|DirName|othername|Registered ID):("(?:[^"\\]|\\.)*"|[^,]*)(?:, |$)/g;
    for (let m = re.exec(san); m !== null; m = re.exec(san)) {
        let v = m[2];
        if (v.startsWith('"')) {
            try {
                v = JSON.parse(v);
            }
            catch {
                continue;
            }
        }
        if (m[1] === 'URI')
            uris.push(v);
        else if (m[1] === 'DNS')
            dns.push(v.toLowerCase());
        if (m[0] === '')
            break;
    }
    return { uris, dns };
}
export function sanMatches(m, san) {
    const { uris, dns } = parseSubjectAltNames(san);
    for (const u of uris) {
        if (m.exactUris.has(u))
            return true;
        for (const p of m.prefixes)
            if (u.startsWith(p))
                return true;
    }
    for (const d of dns) {
        if (m.exactDns.has(d))
            return true;
        for (const p of m.prefixes)
            if (d.startsWith(p.toLowerCase()))
                return true;
    }
    return false;
}
/** A tls `checkServerIdentity` accepting only certificates with a matching SAN. */
export function sanIdentityCheck(entries) {
    const m = compileSanMatcher(entries);
    return (_host, cert) => {
        if (sanMatches(m, cert.subjectaltname))
            return undefined;
        const err = new Error('upstream certificate does not carry an accepted subject alternative name');
        err.code = 'ERR_TLS_CERT_ALTNAME_INVALID';
        return err;
    };
}
