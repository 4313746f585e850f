/**
 * Everything one request carries through the gateway: created once per request with a fixed shape,
 * filled as the request moves listener → router → upstream, read by the access log at the end.
 * `view` is the generation the request started on; it never changes under a request.
 */
export class Exchange {
    req;
    res;
    view;
    startedAt;
    requestId = '';
    /** The socket peer (or, later, the PROXY-protocol source). */
    peer = '';
    /** The client address every consumer uses (see listener/client-address.ts). */
    clientIp = '';
    authority = '';
    /** Normalised path without the query, and the query with its leading '?' (or ''). */
    path = '';
    query = '';
    route = null;
    cluster = null;
    endpoint = null;
    /** The gateway's own error code when it answered itself, for the access log. */
    errorCode = null;
    upstreamStartedAt = 0;
    upstreamDurationMs = -1;
    /** Set when the client went away before the response finished. */
    clientClosed = false;
    /** Verified token claims (set by authn), or null for an anonymous request. */
    claims = null;
    /** Header edits toward the upstream added by filters: flat [name, value, …] pairs, names lower-case. */
    upstreamHeadersAdd = null;
    /** Header names (lower-case) filters want removed before the upstream (spoofable claim headers, tokens). */
    upstreamHeadersRemove = null;
    /** Extra headers for the response to the client (RateLimit-*, …): flat [name, value, …] pairs. */
    responseHeadersAdd = null;
    /** Delay injected by the route's fault filter, in ms (0: none). */
    faultDelayMs = 0;
    /** Retries made after the first try (router retries). */
    retries = 0;
    /** An HTTP/1.1 Upgrade request (WebSocket): the client socket and the bytes read past the head. */
    upgrade = null;
    /** Aborts the upstream exchange in flight, if any. */
    abortUpstream = null;
    constructor(req, res, view, startedAt) {
        this.req = req;
        this.res = res;
        this.view = view;
        this.startedAt = startedAt;
    }
}
