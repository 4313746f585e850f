import { readFile } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { sanIdentityCheck } from "./san-match.js";
export async function loadOriginationTls(cfg) {
    const [cert, key, ca] = await Promise.all([
        cfg.certFile ? readFile(cfg.certFile) : undefined,
        cfg.keyFile ? readFile(cfg.keyFile) : undefined,
        cfg.caFile ? readFile(cfg.caFile) : undefined,
    ]);
    const hash = createHash('sha256');
    for (const part of [cert, key, ca])
        hash.update(part ?? '-').update('\0');
    const options = {
        minVersion: cfg.minVersion ?? 'TLSv1.3',
        ...(cert ? { cert } : {}),
        ...(key ? { key } : {}),
        // With a caFile only that CA is trusted (a mesh has its own root); without one, the system CAs.
        ...(ca ? { ca } : {}),
        ...(cfg.serverName ? { servername: cfg.serverName } : {}),
        // SAN matchers replace the host-name check; a mismatch fails the handshake (→ 502, nothing sent).
        ...(cfg.matchSubjectAltNames?.length ? { checkServerIdentity: sanIdentityCheck(cfg.matchSubjectAltNames) } : {}),
    };
    return { options, fingerprint: hash.digest('hex') };
}
