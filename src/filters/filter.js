function isPromise(v) {
    return typeof v?.then === 'function';
}
/**
 * Runs `filters` in order from index `from`. Calls `next()` when all passed, `reject(r)` on the
 * first rejection, `fail(err)` if a filter throws. Stays synchronous until a filter returns a promise.
 */
export function runFilters(ex, filters, from, next, reject, fail) {
    for (let i = from; i < filters.length; i++) {
        let r;
        try {
            r = filters[i].onRequest(ex);
        }
        catch (err) {
            fail(err);
            return;
        }
        if (r === undefined)
            continue;
        if (isPromise(r)) {
            r.then((v) => {
                if (ex.clientClosed)
                    return;
                if (v !== undefined)
                    reject(v);
                else
                    runFilters(ex, filters, i + 1, next, reject, fail);
            }, fail);
            return;
        }
        reject(r);
        return;
    }
    next();
}
