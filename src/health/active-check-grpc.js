// gRPC health probe: grpc.health.v1.Health/Check over HTTP/2 (h2 by ALPN over TLS, prior-knowledge
// h2c in plain text). The messages are tiny, so they are encoded by hand:
//   HealthCheckRequest  { string service = 1; }                → tag 0x0a, length, bytes
//   HealthCheckResponse { ServingStatus status = 1; }          → tag 0x08, varint (1 = SERVING)
// Healthy only on grpc-status 0 with status SERVING.
export function encodeCheckRequest(service) {
    const name = Buffer.from(service, 'utf8');
    const msg = name.length === 0 ? Buffer.alloc(0) : Buffer.concat([Buffer.from([0x0a]), varint(name.length), name]);
    const frame = Buffer.alloc(5);
    frame.writeUInt8(0, 0); // not compressed
    frame.writeUInt32BE(msg.length, 1);
    return Buffer.concat([frame, msg]);
}
function varint(n) {
    const out = [];
    while (n > 0x7f) {
        out.push((n & 0x7f) | 0x80);
        n >>>= 7;
    }
    out.push(n);
    return Buffer.from(out);
}
/** The ServingStatus of a framed HealthCheckResponse (0 UNKNOWN when absent), or -1 if malformed. */
export function decodeCheckResponse(body) {
    if (body.length < 5 || body[0] !== 0)
        return -1;
    const len = body.readUInt32BE(1);
    if (body.length < 5 + len)
        return -1;
    const msg = body.subarray(5, 5 + len);
    let i = 0;
    while (i < msg.length) {
        const tag = msg[i++];
        if (tag === 0x08) {
            let v = 0;
            let shift = 0;
            while (i < msg.length) {
                const b = msg[i++];
                v |= (b & 0x7f) << shift;
                if ((b & 0x80) === 0)
                    return v;
                shift += 7;
            }
            return -1;
        }
        return -1; // unknown field: not worth skipping in a probe
    }
    return 0;
}
export function grpcProbe(service) {
    const request = encodeCheckRequest(service);
    return async (client, endpoint, timeoutMs) => {
        const res = await client.request({
            path: '/grpc.health.v1.Health/Check',
            method: 'POST',
            servername: endpoint.servername,
            headers: {
                'content-type': 'application/grpc',
                te: 'trailers',
                'user-agent': 'gatehouse-health-check',
            },
            body: request,
            headersTimeout: timeoutMs,
            bodyTimeout: timeoutMs,
            signal: AbortSignal.timeout(timeoutMs),
        }); // undici reads `servername`; its types omit it
        const chunks = [];
        for await (const c of res.body)
            chunks.push(c);
        const grpcStatus = res.trailers['grpc-status'] ?? res.headers['grpc-status'];
        if (res.statusCode !== 200 || (grpcStatus !== undefined && grpcStatus !== '0'))
            return false;
        return decodeCheckResponse(Buffer.concat(chunks)) === 1;
    };
}
