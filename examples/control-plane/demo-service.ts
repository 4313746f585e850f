// One demo mesh service instance: HTTPS with mutual TLS (client certificates from the development
// CA only), its own SPIFFE identity (certs/<service>.crt), answering with who it is; it registers
// itself in the registry and keeps its lease alive (instance-agent.ts). SIGTERM deregisters it;
// SIGKILL leaves the lease to lapse.
//   node --import tsx examples/control-plane/demo-service.ts --service hello --version v1 --port 9551
import https from 'node:https';
import type { TLSSocket } from 'node:tls';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { keepRegistered } from './instance-agent.ts';

const { values } = parseArgs({
  options: {
    service: { type: 'string' },
    version: { type: 'string' },
    port: { type: 'string' },
    registry: { type: 'string', default: 'http://127.0.0.1:9903' },
    certs: { type: 'string', default: 'certs' },
    ttl: { type: 'string', default: '6' },
  },
});
const service = values.service!;
const version = values.version!;
const certs = values.certs!;

const server = https.createServer(
  {
    cert: readFileSync(join(certs, `${service}.crt`)),
    key: readFileSync(join(certs, `${service}.key`)),
    ca: readFileSync(join(certs, 'ca.crt')),
    requestCert: true,
    rejectUnauthorized: true,
  },
  (req, res) => {
    const peer = (req.socket as TLSSocket).getPeerCertificate?.();
    const body = `${JSON.stringify({ service, version, port: Number(values.port), path: req.url, caller: peer?.subjectaltname ?? null })}\n`;
    res.writeHead(200, { 'content-type': 'application/json', 'x-served-by': `${service}-${version}` });
    res.end(body);
  },
);
server.listen(Number(values.port), '127.0.0.1', () => {
  const address = `127.0.0.1:${(server.address() as { port: number }).port}`;
  process.stderr.write(`${service} ${version} listening on https://${address} (mutual TLS)\n`);
  const agent = keepRegistered({ registry: values.registry!, service, version, address, ttlSeconds: Number(values.ttl) });
  const stop = () => void agent.stop().finally(() => server.close(() => process.exit(0)));
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
});
