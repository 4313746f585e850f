/**
 * Config keys whose behaviour is not built yet. A key listed here that is present in the config
 * (or, with `when`, present with a value that needs the missing behaviour) is refused with
 * `path: not supported yet` — better than accepting a setting that silently does nothing.
 *
 * When a feature lands, delete its line. Patterns: `a.b` walks keys, `a[]` walks every list item.
 * The check runs on the raw (env-substituted) tree, before defaults, so only what the user wrote counts.
 */
import { formatPath } from "./errors.js";
const isTrue = (v) => v === true;
const oneOf = (...values) => (v) => values.includes(v);
export const UNSUPPORTED = [
    // top level
    { path: 'xds' },
    { path: 'tracing' },
    { path: 'grpcHealth' },
    { path: 'overload' },
    { path: 'virtualHosts[].extAuthz' },
    { path: 'virtualHosts[].routes[].extAuthz', when: (v) => v !== null },
    // listeners
    { path: 'listeners[].proxyProtocol', when: isTrue },
    // clusters
    { path: 'clusters[].discovery.type', when: oneOf('eds') }, // fed by the xDS client (Cluster.setEndpoints)
];
export function compile(pattern) {
    return pattern.split('.').map((part) => (part.endsWith('[]') ? { key: part.slice(0, -2), each: true } : { key: part, each: false }));
}
function isRecord(v) {
    return typeof v === 'object' && v !== null && !Array.isArray(v);
}
/** Every (path, value) the pattern reaches in `tree`; shapes that do not fit are skipped (the schema reports them). */
export function reach(tree, steps) {
    let frontier = [{ path: [], value: tree }];
    for (const step of steps) {
        const next = [];
        for (const { path, value } of frontier) {
            if (!isRecord(value) || !Object.hasOwn(value, step.key))
                continue;
            const child = value[step.key];
            if (!step.each)
                next.push({ path: [...path, step.key], value: child });
            else if (Array.isArray(child))
                child.forEach((item, i) => next.push({ path: [...path, step.key, i], value: item }));
        }
        frontier = next;
    }
    return frontier;
}
export function findUnsupported(tree, rules = UNSUPPORTED) {
    const errors = [];
    for (const rule of rules) {
        for (const hit of reach(tree, compile(rule.path))) {
            if (hit.value === undefined)
                continue;
            if (rule.when && !rule.when(hit.value))
                continue;
            errors.push({ path: formatPath(hit.path), message: 'not supported yet' });
        }
    }
    return errors;
}
