import { formatPath } from "./errors.js";
const TYPE_NAMES = {
    object: 'a mapping',
    record: 'a mapping',
    map: 'a mapping',
    array: 'a list',
    tuple: 'a list',
    string: 'a string',
    number: 'a number',
    int: 'an integer',
    boolean: 'true or false',
    literal: 'a value',
};
function describeInput(v) {
    if (v === null)
        return 'an empty value';
    if (Array.isArray(v))
        return 'a list';
    switch (typeof v) {
        case 'object':
            return 'a mapping';
        case 'string':
            return `the string ${JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v)}`;
        case 'number':
            return String(v);
        case 'boolean':
            return String(v);
        default:
            return typeof v;
    }
}
function listValues(values) {
    return values.map((v) => (typeof v === 'string' ? v : JSON.stringify(v))).join(', ');
}
/** Per-parse error map (pass as `{ error: humanErrorMap }`); undefined falls back to zod's message. */
export const humanErrorMap = (iss) => {
    switch (iss.code) {
        case 'invalid_type': {
            if (iss.input === undefined)
                return 'required';
            const expected = TYPE_NAMES[iss.expected] ?? iss.expected;
            return `expected ${expected}, got ${describeInput(iss.input)}`;
        }
        case 'invalid_value':
            return iss.values.length === 1 ? `expected ${listValues(iss.values)}` : `expected one of ${listValues(iss.values)}`;
        case 'too_small': {
            const min = Number(iss.minimum);
            if (iss.origin === 'string' || iss.origin === 'array' || iss.origin === 'set') {
                if (min <= 1)
                    return 'must not be empty';
                return iss.origin === 'string' ? `must be at least ${min} characters` : `must have at least ${min} items`;
            }
            return iss.inclusive ? `must be at least ${min}` : `must be greater than ${min}`;
        }
        case 'too_big': {
            const max = Number(iss.maximum);
            if (iss.origin === 'string')
                return `must be at most ${max} characters`;
            if (iss.origin === 'array' || iss.origin === 'set')
                return `must have at most ${max} items`;
            return iss.inclusive ? `must be at most ${max}` : `must be less than ${max}`;
        }
        case 'invalid_union': {
            if (iss.note === 'No matching discriminator' && Array.isArray(iss.options)) {
                const input = iss.input;
                const disc = typeof iss.discriminator === 'string' ? iss.discriminator : 'type';
                const options = listValues(iss.options);
                if (input && typeof input === 'object' && input[disc] === undefined)
                    return `required (one of ${options})`;
                return `expected one of ${options}`;
            }
            return 'does not match any allowed form';
        }
        case 'unrecognized_keys':
            return 'unknown key';
        case 'invalid_key':
            return 'invalid key';
        case 'invalid_format':
            return 'invalid format';
        case 'not_multiple_of':
            return `must be a multiple of ${String(iss.divisor)}`;
        default:
            return undefined;
    }
};
/** Flatten zod issues into ConfigErrors; an unknown key is reported at its own path. */
export function issuesToErrors(issues) {
    const out = [];
    const seen = new Set();
    const push = (e) => {
        const k = `${e.path}\u0000${e.message}`;
        if (!seen.has(k)) {
            seen.add(k);
            out.push(e);
        }
    };
    for (const iss of issues) {
        if (iss.code === 'unrecognized_keys') {
            for (const key of iss.keys)
                push({ path: formatPath([...iss.path, key]), message: 'unknown key' });
        }
        else if (iss.code === 'invalid_key') {
            // A record key failed: name the key, keep the inner reason.
            const inner = iss.issues.map((i) => i.message).join('; ');
            push({ path: formatPath(iss.path), message: inner ? `invalid key: ${inner}` : 'invalid key' });
        }
        else {
            push({ path: formatPath(iss.path), message: iss.message });
        }
    }
    return out;
}
