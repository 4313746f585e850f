import net from 'node:net';

/** A port that was free a moment ago on 127.0.0.1 (the kernel picks it). */
/** Ports this test process has handed out: the OS may offer a closed one again before its user binds it. */
const handedOut = new Set<number>();

export async function freePort(): Promise<number> {
  for (;;) {
    const port = await new Promise<number>((resolve, reject) => {
      const s = net.createServer();
      s.once('error', reject);
      s.listen(0, '127.0.0.1', () => {
        const p = (s.address() as net.AddressInfo).port;
        s.close(() => resolve(p));
      });
    });
    if (!handedOut.has(port)) {
      handedOut.add(port);
      return port;
    }
  }
}

/** Polls `check` until it returns true (no timing assertions: only a generous upper bound). */
export async function eventually(check: () => boolean | Promise<boolean>, what: string, maxMs = 20_000): Promise<void> {
  const until = Date.now() + maxMs;
  while (Date.now() < until) {
    // A check that never settles (a fetch to a peer that stopped answering) must not outlive the
    // bound: the test then fails here, naming what it waited for, not at the runner's timeout.
    let timer: NodeJS.Timeout | undefined;
    const bounded = new Promise<'hung'>((r) => (timer = setTimeout(() => r('hung'), Math.max(0, until - Date.now()))));
    const ok = await Promise.race([Promise.resolve(check()), bounded]).finally(() => clearTimeout(timer));
    if (ok === 'hung') throw new Error(`timed out waiting for: ${what} (the last check did not return)`);
    if (ok) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for: ${what}`);
}

/** true once something accepts TCP connections on 127.0.0.1:`port` (a peer that speaks no protocol we probe). */
export function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}
