// `npm start` (`gatehouse demo`): creates the development certificates and the demo identity provider's key when
// missing, starts two versions of the demo mTLS echo service and the gateway on config/gateway.yaml,
// in this one process, and prints what to try. Ctrl-C (or SIGTERM) drains the gateway and stops
// everything. GATEHOUSE_CONFIG, GATEHOUSE_CERTS, GATEHOUSE_DEMO_PORT and GATEHOUSE_DEMO_PORT_V2
// override the config file, the certificate folder and the echo services' ports;
// GATEHOUSE_DEMO_TRAFFIC=1 sends a few requests a second so the dashboard has something to draw.
import { ensureDevCerts } from '../certs/dev-certs.ts';
import { startEchoUpstream } from './echo-upstream.ts';
import { ensureDemoIdp, mintDemoToken } from './dev-idp.ts';
import { startDemoTraffic } from './traffic.ts';
import { Gateway } from '../runtime/gateway.ts';
import { installLastResortHandlers } from '../runtime/last-resort.ts';

export async function demoCommand(): Promise<number> {
  const configFile = process.env.GATEHOUSE_CONFIG ?? 'config/gateway.yaml';
  const certDir = process.env.GATEHOUSE_CERTS ?? 'certs';
  const say = (s: string) => process.stderr.write(`${s}\n`);

  if (await ensureDevCerts(certDir)) say(`created development certificates in ${certDir}/`);
  if (await ensureDemoIdp(certDir)) say(`created the demo identity provider's key in ${certDir}/demo-idp.key`);
  const v1 = await startEchoUpstream(certDir, '127.0.0.1', Number(process.env.GATEHOUSE_DEMO_PORT ?? 9443), 'v1');
  const v2 = await startEchoUpstream(certDir, '127.0.0.1', Number(process.env.GATEHOUSE_DEMO_PORT_V2 ?? 9444), 'v2');
  say(`demo echo service (mutual TLS): v1 on https://127.0.0.1:${v1.port}, v2 on https://127.0.0.1:${v2.port}`);

  installLastResortHandlers();
  const gateway = new Gateway({ configFile });
  try {
    await gateway.start();
  } catch (err) {
    say((err as Error).message);
    await Promise.all([v1.close(), v2.close()]);
    return 1;
  }
  const ports = gateway.ports();
  const base = `https://localhost:${ports.public ?? 8443}`;
  const curl = `curl --cacert ${certDir}/ca.crt`; // the dev CA: no -k needed
  const token = await mintDemoToken(certDir);
  say(`gatehouse is up — dashboard: http://127.0.0.1:${ports.admin}/   (Ctrl-C stops)

Try:
  ${curl} ${base}/                        # echo v1 (90 %) or v2 (10 %) over mutual TLS: see "version" and "caller"
  ${curl} ${base}/ -H 'x-version: v2'     # testers always get v2
  ${curl} ${base}/account                 # 401: this route needs a JWT
  ${curl} ${base}/account -H 'Authorization: Bearer ${token}'
  for i in 1 2 3 4 5 6; do ${curl} -s -o /dev/null -w '%{http_code} ' ${base}/limited; done; echo   # 429 after 5
  npx gatehouse explain --config ${configFile} -H 'x-version: v2' ${base}/cart      # why a request goes where it goes
`);
  const stopTraffic = process.env.GATEHOUSE_DEMO_TRAFFIC === '1' ? startDemoTraffic({ port: ports.public ?? 8443, certDir, token }) : () => undefined;

  let stopping = false;
  async function stop(signal: NodeJS.Signals): Promise<void> {
    if (stopping) process.exit(1); // a second Ctrl-C: now
    stopping = true;
    stopTraffic();
    const drain = gateway.current?.config.drain;
    await gateway.stop(signal === 'SIGTERM' ? (drain?.delay ?? 0) : 0, drain?.timeout ?? 10_000);
    await Promise.all([v1.close(), v2.close()]);
    process.exit(0);
  }
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGHUP', () => void gateway.hangup());
  return new Promise<number>(() => undefined); // serves until a signal stops it
}
