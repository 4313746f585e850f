import http from 'node:http';
import { argJson, emit, exitWithParent } from './common.ts';

// An OTLP/HTTP trace sink for the observability benchmark: accepts POST /v1/traces, reads the body,
// answers 200 `{}`, and counts what it got (printed at exit). It stands in for a collector so span
// export does its real work (batching, serialising, one HTTP request per batch).

argJson<Record<string, never>>();
let exports = 0;
let bytes = 0;
const server = http.createServer((req, res) => {
  req.on('data', (c: Buffer) => (bytes += c.length));
  req.on('end', () => {
    exports++;
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end('{}');
  });
});
server.keepAliveTimeout = 120_000;
exitWithParent(() => {
  emit('sink', { exports, bytes });
  server.close();
});
server.listen(0, '127.0.0.1', () => {
  const addr = server.address();
  emit('listening', { port: typeof addr === 'object' && addr ? addr.port : 0 });
});
