// HTTP health probe: GET `path`; healthy on any 2xx within the timeout.
export function httpProbe(path) {
    return async (client, endpoint, timeoutMs) => {
        const res = await client.request({
            path,
            method: 'GET',
            servername: endpoint.servername,
            headers: { host: endpoint.servername || endpoint.address, 'user-agent': 'gatehouse-health-check' },
            headersTimeout: timeoutMs,
            bodyTimeout: timeoutMs,
            signal: AbortSignal.timeout(timeoutMs),
        }); // undici reads `servername`; its types omit it
        await res.body.dump();
        return res.statusCode >= 200 && res.statusCode < 300;
    };
}
