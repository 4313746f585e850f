/**
 * The one error shape of the configuration layer: `path.to.field: message`,
 * e.g. `clusters[1].tls.caFile: file not found`.
 */
export const ROOT_PATH = '(root)';
const PLAIN_KEY = /^[A-Za-z_$][\w$-]*$/;
/** `['clusters', 1, 'tls', 'caFile']` → `clusters[1].tls.caFile`; odd keys are quoted: `set["x y"]`. */
export function formatPath(path) {
    let out = '';
    for (const seg of path) {
        if (typeof seg === 'number')
            out += `[${seg}]`;
        else {
            const key = String(seg);
            if (PLAIN_KEY.test(key))
                out += out === '' ? key : `.${key}`;
            else
                out += `[${JSON.stringify(key)}]`;
        }
    }
    return out === '' ? ROOT_PATH : out;
}
/** `path: message` — the form `gatehouse validate` prints. */
export function formatConfigError(e) {
    return `${e.path}: ${e.message}`;
}
