import { join } from 'node:path';

// The configs of every process in `npm run bench:peers`, written the way each project's users would
// write them for this job: TLS 1.3 in with the dev edge certificate, mutual TLS out to one nginx
// upstream that requires a client certificate from the dev CA, upstream verification on, keep-alive
// pools both ways. Each proxy runs one worker/thread (the proxy core is one CPU).

export interface Paths {
  tmp: string;
  certs: string;
}

const cert = (p: Paths, name: string) => join(p.certs, name);

/** A 150-byte answer, like the issue's table. */
export const BODY = 'x'.repeat(149) + '\n';

/** The head both nginx configs share: one foreground process, its pid, logs and temp paths in `dir`, up to the open `http {`. */
function nginxHead(dir: string): string {
  return `daemon off;
master_process off;
worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  keepalive_requests 1000000;
  client_body_temp_path ${dir}/body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;`;
}

/** The upstream: nginx, one process, TLS with client certificates required, plus a plain port (the harness ceiling). */
export function nginxUpstreamConf(p: Paths, ports: { mtls: number; plain: number }): string {
  return `${nginxHead(join(p.tmp, 'nginx-upstream'))}
  server {
    listen 127.0.0.1:${ports.mtls} ssl;
    ssl_certificate ${cert(p, 'upstream.crt')};
    ssl_certificate_key ${cert(p, 'upstream.key')};
    ssl_client_certificate ${cert(p, 'ca.crt')};
    ssl_verify_client on;
    ssl_protocols TLSv1.3;
    location / { return 200 "${BODY.trimEnd()}\\n"; }
  }
  server {
    listen 127.0.0.1:${ports.plain};
    location / { return 200 "${BODY.trimEnd()}\\n"; }
  }
}
`;
}

/** nginx as the proxy: one worker, h2 + http/1.1 on TLS, mTLS to the upstream with verification and a keep-alive pool. */
export function nginxProxyConf(p: Paths, port: number, upstreamPort: number): string {
  return `${nginxHead(join(p.tmp, 'nginx-proxy'))}
  upstream mesh {
    server 127.0.0.1:${upstreamPort};
    keepalive 128;
  }
  server {
    listen 127.0.0.1:${port} ssl http2;
    ssl_certificate ${cert(p, 'edge.crt')};
    ssl_certificate_key ${cert(p, 'edge.key')};
    ssl_protocols TLSv1.2 TLSv1.3;
    location / {
      proxy_pass https://mesh;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_ssl_certificate ${cert(p, 'gatehouse.crt')};
      proxy_ssl_certificate_key ${cert(p, 'gatehouse.key')};
      proxy_ssl_trusted_certificate ${cert(p, 'ca.crt')};
      proxy_ssl_verify on;
      proxy_ssl_name localhost;
      proxy_ssl_server_name on;
      proxy_ssl_session_reuse on;
      proxy_ssl_protocols TLSv1.3;
    }
  }
}
`;
}

/** HAProxy, one thread: h2 + http/1.1 on TLS, mTLS to the upstream with verification and connection reuse. */
export function haproxyConf(p: Paths, port: number, upstreamPort: number): string {
  return `global
  nbthread 1
  maxconn 4096
  tune.ssl.default-dh-param 2048
defaults
  mode http
  timeout connect 2s
  timeout client 30s
  timeout server 30s
  http-reuse always
frontend edge
  bind 127.0.0.1:${port} ssl crt ${join(p.tmp, 'edge.pem')} alpn h2,http/1.1 ssl-min-ver TLSv1.2
  default_backend mesh
backend mesh
  server up 127.0.0.1:${upstreamPort} ssl verify required ca-file ${cert(p, 'ca.crt')} crt ${join(p.tmp, 'gatehouse.pem')} sni str(localhost) verifyhost localhost ssl-min-ver TLSv1.3 alpn http/1.1
`;
}

export interface GatehouseBenchKeys {
  jwksFile: string;
  /** One RS256 token (1-year exp) sent with every request of the full-feature target. */
  token: string;
}

const SPIFFE_UPSTREAM = 'spiffe://mesh.local/ns/demo/sa/echo';

function gatehouseCommon(p: Paths, port: number, admin: number, accessLog: string): string {
  return `admin: { address: "127.0.0.1:${admin}" }
accessLog: { path: ${JSON.stringify(accessLog)} }
drain: { delay: 0s, timeout: 2s }
listeners:
  - name: public
    address: "127.0.0.1:${port}"
    tls:
      certificates:
        - { certFile: ${JSON.stringify(cert(p, 'edge.crt'))}, keyFile: ${JSON.stringify(cert(p, 'edge.key'))}, serverNames: ["localhost"] }
      minVersion: TLSv1.2
      http2: true
`;
}

function meshCluster(p: Paths, name: string, upstreamPort: number, sanCheck: boolean): string {
  return `  - name: ${name}
    discovery: { type: static, endpoints: ["127.0.0.1:${upstreamPort}"] }
    tls:
      certFile: ${JSON.stringify(cert(p, 'gatehouse.crt'))}
      keyFile: ${JSON.stringify(cert(p, 'gatehouse.key'))}
      caFile: ${JSON.stringify(cert(p, 'ca.crt'))}
      serverName: localhost
      minVersion: TLSv1.3${sanCheck ? `\n      matchSubjectAltNames: ["${SPIFFE_UPSTREAM}"]` : ''}
`;
}

/** gatehouse (a): routing only — one route to one mTLS cluster, no access log. */
export function gatehouseRoutingOnly(p: Paths, port: number, admin: number, upstreamPort: number, accessLogOff: string): string {
  return `${gatehouseCommon(p, port, admin, accessLogOff)}virtualHosts:
  - name: bench
    domains: ["*"]
    routes:
      - { name: all, match: { prefix: / }, route: { cluster: mesh, timeout: 10s } }
clusters:
${meshCluster(p, 'mesh', upstreamPort, false)}`;
}

/**
 * gatehouse (b): every edge feature on — a JWT (the same token each time: the verified-token cache),
 * an authz rule on a claim, a per-IP memory rate limit (never reached), a 90/10 weighted split, mTLS
 * with a SPIFFE SAN check, and the access log written to a file.
 */
export function gatehouseFullFeatures(p: Paths, port: number, admin: number, upstreamPort: number, keys: GatehouseBenchKeys): string {
  return `${gatehouseCommon(p, port, admin, join(p.tmp, 'gatehouse-full-access.log'))}authn:
  providers:
    - name: bench
      issuer: https://issuer.bench.test
      audiences: [bench]
      jwksFile: ${JSON.stringify(keys.jwksFile)}
      algorithms: [RS256]
      claimsToHeaders: { sub: x-auth-sub }
rateLimit:
  store: memory
  policies:
    - { name: per-ip, key: clientIp, limit: 1000000000, window: 1s }
virtualHosts:
  - name: bench
    domains: ["*"]
    authn: { providers: [bench] }
    rateLimits: [per-ip]
    routes:
      - name: all
        match: { prefix: / }
        authz: { allow: [{ claims: { groups: [bench] } }] }
        route:
          weightedClusters: [{ cluster: primary, weight: 90 }, { cluster: canary, weight: 10 }]
          timeout: 10s
clusters:
${meshCluster(p, 'primary', upstreamPort, true)}${meshCluster(p, 'canary', upstreamPort, true)}`;
}
