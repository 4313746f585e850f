import https from 'node:https';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

// Optional demo traffic (`GATEHOUSE_DEMO_TRAFFIC=1 npm start`): a few requests a second through the
// gateway — the canary split, the v2 header override, the JWT route with and without a token, the
// rate-limited route — so the dashboard's charts move without typing curl. Loopback only; it stops
// with the demo.

export function startDemoTraffic(o: { port: number; certDir: string; token: string; perSecond?: number }): () => void {
  const agent = new https.Agent({ keepAlive: true, maxSockets: 4, ca: readFileSync(join(o.certDir, 'ca.crt')), servername: 'localhost' });
  const plan: Array<{ path: string; headers?: Record<string, string> }> = [
    { path: '/' },
    { path: '/cart' },
    { path: '/' },
    { path: '/', headers: { 'x-version': 'v2' } },
    { path: '/account', headers: { authorization: `Bearer ${o.token}` } },
    { path: '/account' },
    { path: '/limited' },
    { path: '/ping' },
    { path: '/limited' }, // twice per round: ~1/s, over the 5 per 10 s the demo allows
  ];
  let n = 0;
  const timer = setInterval(() => {
    const step = plan[n++ % plan.length];
    const req = https.request({ host: '127.0.0.1', port: o.port, path: step.path, agent, headers: { host: 'localhost', ...step.headers } }, (res) => res.resume());
    req.on('error', () => undefined); // the demo is stopping, or the gateway is reloading: try again next tick
    req.end();
  }, 1000 / (o.perSecond ?? 4));
  timer.unref();
  return () => {
    clearInterval(timer);
    agent.destroy();
  };
}
