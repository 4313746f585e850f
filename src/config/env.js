/**
 * `${ENV_VAR}` substitution in the string values of a parsed YAML document (never in keys).
 *
 * - `${NAME}` (NAME = [A-Za-z_][A-Za-z0-9_]*) is replaced by the variable's value; an unset variable is
 *   an error `path: environment variable NAME is not set` (an empty value counts as set).
 * - `$${` is an escape for a literal `${` (so `$${X}` yields `${X}`).
 * - any other `${…}` is an error: a typo must not silently stay in the config.
 *
 * Substitution works on the YAML syntax tree rather than on the text, so a value can never inject YAML
 * structure (keys, lists, anchors). A *plain* (unquoted) scalar that contained a reference is re-typed
 * after substitution the way YAML would have typed the text, so `port: ${PORT}` gives a number and
 * `http2: ${H2}` a boolean; quoted scalars always stay strings.
 */
import YAML, { isAlias, isMap, isPair, isScalar, isSeq } from 'yaml';
import { formatPath } from "./errors.js";
const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
/** Expand the references in one string. */
export function expandEnv(s, env) {
    if (!s.includes('${'))
        return { ok: true, value: s, changed: false };
    let out = '';
    let i = 0;
    while (i < s.length) {
        const at = s.indexOf('$', i);
        if (at < 0) {
            out += s.slice(i);
            break;
        }
        out += s.slice(i, at);
        if (s.startsWith('$${', at)) {
            out += '${';
            i = at + 3;
        }
        else if (s.startsWith('${', at)) {
            const end = s.indexOf('}', at + 2);
            const name = end < 0 ? '' : s.slice(at + 2, end);
            if (end < 0 || !NAME.test(name)) {
                const ref = end < 0 ? s.slice(at) : s.slice(at, end + 1);
                return { ok: false, message: `invalid environment variable reference "${ref}" (use \${NAME}, or $\${ for a literal \${)` };
            }
            const value = env[name];
            if (value === undefined)
                return { ok: false, message: `environment variable ${name} is not set` };
            out += value;
            i = end + 1;
        }
        else {
            out += '$';
            i = at + 1;
        }
    }
    return { ok: true, value: out, changed: true };
}
/** Substitute in place in every string scalar of `doc`; returns the errors (with config paths). */
export function substituteEnvInDocument(doc, env) {
    const errors = [];
    const visit = (node, path) => {
        if (isMap(node)) {
            for (const pair of node.items) {
                if (!isPair(pair))
                    continue;
                const key = isScalar(pair.key) ? String(pair.key.value) : String(pair.key);
                visit(pair.value, [...path, key]);
            }
        }
        else if (isSeq(node)) {
            node.items.forEach((item, index) => visit(item, [...path, index]));
        }
        else if (isScalar(node) && typeof node.value === 'string') {
            const r = expandEnv(node.value, env);
            if (!r.ok) {
                errors.push({ path: formatPath(path), message: r.message });
            }
            else if (r.changed) {
                node.value = node.type === 'PLAIN' ? retypePlain(r.value) : r.value;
            }
        }
        else if (isAlias(node)) {
            // An alias shares its anchor's node, which is substituted where it is defined.
        }
    };
    visit(doc.contents, []);
    return errors;
}
/** Type a substituted plain scalar as YAML would: numbers and booleans; everything else stays text. */
function retypePlain(text) {
    if (text.trim() === '')
        return text;
    try {
        const v = YAML.parse(text);
        return typeof v === 'number' || typeof v === 'boolean' ? v : text;
    }
    catch {
        return text;
    }
}
