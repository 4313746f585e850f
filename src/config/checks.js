/**
 * Small context-free value checks shared by the schema (format of one value) and the semantic
 * validator. Each returns an error message, or null when the value is fine.
 */
import { isIP } from 'node:net';
import safeRegex from 'safe-regex2';
const HOSTNAME = /^(?=.{1,253}\.?$)[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?(?:\.[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?)*\.?$/;
/** `host:port` with port 1..65535; IPv6 in brackets (`[::1]:8443`). */
export function parseHostPort(s) {
    const example = 'expected host:port (e.g. 0.0.0.0:8443 or [::1]:8443)';
    let host;
    let portText;
    if (s.startsWith('[')) {
        const close = s.indexOf(']');
        if (close < 0 || s[close + 1] !== ':')
            return example;
        host = s.slice(1, close);
        portText = s.slice(close + 2);
        if (isIP(host) !== 6)
            return `"${host}" is not an IPv6 address`;
    }
    else {
        const colon = s.lastIndexOf(':');
        if (colon < 0)
            return example;
        host = s.slice(0, colon);
        portText = s.slice(colon + 1);
        if (host.includes(':'))
            return 'IPv6 addresses need brackets, e.g. [::1]:8443';
        if (isIP(host) === 0 && !HOSTNAME.test(host))
            return example;
    }
    if (!/^\d{1,5}$/.test(portText))
        return example;
    const port = Number(portText);
    if (port < 1 || port > 65535)
        return 'port must be between 1 and 65535';
    return { host, port };
}
export function addressError(s) {
    const r = parseHostPort(s);
    return typeof r === 'string' ? r : null;
}
export function isHostname(s) {
    return HOSTNAME.test(s);
}
/** An IP address or CIDR block (`10.0.0.0/8`, `2001:db8::/32`, `192.0.2.7`). */
export function cidrError(s) {
    const [addr = '', bits, ...rest] = s.split('/');
    const family = isIP(addr);
    const bad = `expected an IP address or CIDR block like 10.0.0.0/8`;
    if (family === 0 || rest.length > 0)
        return bad;
    if (bits === undefined)
        return null;
    const max = family === 4 ? 32 : 128;
    if (!/^\d{1,3}$/.test(bits) || Number(bits) > max)
        return `prefix length must be between 0 and ${max}`;
    return null;
}
/** An IP, optionally with a port (`127.0.0.1`, `127.0.0.1:5353`, `[::1]:53`): what a DNS server list takes. */
export function dnsServerError(s) {
    if (isIP(s) !== 0)
        return null;
    const hp = parseHostPort(s);
    if (typeof hp === 'string')
        return 'expected an IP address with an optional port (e.g. 127.0.0.1:5353)';
    return isIP(hp.host) === 0 ? 'expected an IP address, not a host name' : null;
}
/**
 * Compile check for a regular expression. The runtime matches whole values, i.e. `^(?:re)$`; we check the
 * same anchored form so a pattern that only breaks once wrapped (a stray `)`) is caught here.
 */
export function regexError(source) {
    try {
        const re = new RegExp(`^(?:${source})$`);
        // Regexes run on client input: refuse patterns prone to catastrophic backtracking (star height > 1).
        if (!safeRegex(re))
            return 'regular expression may backtrack catastrophically (nested repetition such as (a+)+); simplify it';
        return null;
    }
    catch (e) {
        const msg = e instanceof Error ? e.message : String(e);
        // V8: "Invalid regular expression: /^(?:(x)$/: Unterminated group" → "Unterminated group"
        const m = /^Invalid regular expression: \/.*\/[a-z]*: (.*)$/s.exec(msg);
        return `invalid regular expression: ${m ? m[1] : msg}`;
    }
}
/** An HTTP field name (RFC 9110 token). */
export const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
/** An HTTP method token in upper case. */
export const METHOD = /^[A-Z][A-Z0-9_-]*$/;
/** A host in a virtual host's `domains`: an exact name, `*.suffix`, or `*`. */
export function domainError(s) {
    if (s === '*')
        return null;
    const name = s.startsWith('*.') ? s.slice(2) : s;
    if (name.includes('*') || !isHostname(name) || name.includes(':')) {
        return 'expected a host name, "*.suffix" or "*" (no port)';
    }
    return null;
}
/** `redirect.to`: a path (starting with `/`) or an absolute http(s) URL. */
export function redirectTargetError(s) {
    if (s.startsWith('/') && !s.startsWith('//'))
        return null;
    try {
        const u = new URL(s);
        if ((u.protocol === 'http:' || u.protocol === 'https:') && u.host !== '')
            return null;
    }
    catch {
        // fall through
    }
    return 'expected a path starting with / or an absolute http(s) URL';
}
/** An http(s) URL; plain http only to a loopback host (tests, sidecars) unless `allowHttp`. */
export function httpUrlError(s, opts = {}) {
    let u;
    try {
        u = new URL(s);
    }
    catch {
        return 'expected an absolute URL';
    }
    if (u.protocol === 'https:')
        return null;
    if (u.protocol === 'http:') {
        if (opts.allowHttp || isLoopbackHost(u.hostname))
            return null;
        return 'must use https (plain http is only allowed to a loopback address)';
    }
    return 'expected an http(s) URL';
}
export function isLoopbackHost(host) {
    const h = host.replace(/^\[|\]$/g, '').toLowerCase();
    return h === 'localhost' || h === '::1' || /^127\.\d+\.\d+\.\d+$/.test(h);
}
