// `npm start`: creates the development certificates when missing, starts the demo mTLS echo
// service and the gateway on config/gateway.yaml, in this one process. Ctrl-C (or SIGTERM)
// drains the gateway and stops both. GATEHOUSE_CONFIG, GATEHOUSE_CERTS and GATEHOUSE_DEMO_PORT
// override the config file, the certificate folder and the echo service's port.
import { ensureDevCerts } from '../src/certs/dev-certs.ts';
import { startEchoUpstream } from '../src/demo/echo-upstream.ts';
import { Gateway } from '../src/runtime/gateway.ts';
import { installLastResortHandlers } from '../src/runtime/last-resort.ts';

const configFile = process.env.GATEHOUSE_CONFIG ?? 'config/gateway.yaml';
const certDir = process.env.GATEHOUSE_CERTS ?? 'certs';

if (await ensureDevCerts(certDir)) process.stderr.write(`created development certificates in ${certDir}/\n`);
const echo = await startEchoUpstream(certDir, '127.0.0.1', Number(process.env.GATEHOUSE_DEMO_PORT ?? 9443));
process.stderr.write(`demo echo service (mutual TLS) on https://127.0.0.1:${echo.port}\n`);

installLastResortHandlers();
const gateway = new Gateway({ configFile });
try {
  await gateway.start();
} catch (err) {
  process.stderr.write(`${(err as Error).message}\n`);
  await echo.close();
  process.exit(1);
}
process.stderr.write('gatehouse is up: try  curl -k https://localhost:8443/  (admin: http://127.0.0.1:9901/)\n');

let stopping = false;
async function stop(signal: NodeJS.Signals): Promise<void> {
  if (stopping) return;
  stopping = true;
  const drain = gateway.current?.config.drain;
  await gateway.stop(signal === 'SIGTERM' ? (drain?.delay ?? 0) : 0, drain?.timeout ?? 10_000);
  await echo.close();
  process.exit(0);
}
process.on('SIGINT', () => void stop('SIGINT'));
process.on('SIGTERM', () => void stop('SIGTERM'));
process.on('SIGHUP', () => void gateway.reload('SIGHUP'));
