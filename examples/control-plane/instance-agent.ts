// Keeps one instance registered in the gatehouse registry: registers with a lease TTL, renews it
// at a third of the TTL, registers again when the lease was lost (the registry restarted, etcd lost
// it), and waits while the service is not registered yet. `stop()` deregisters. This is all an
// instance needs: if the process dies, the lease lapses and the instance leaves the endpoint set.

export interface AgentOptions {
  registry: string; // http://127.0.0.1:9903
  service: string;
  version: string;
  address: string; // ip:port the gateways should reach
  ttlSeconds?: number;
  token?: string;
  log?: (msg: string) => void;
}

export interface Agent {
  stop(): Promise<void>;
}

export function keepRegistered(o: AgentOptions): Agent {
  const ttl = o.ttlSeconds ?? 6;
  const write = o.log ?? ((m: string) => process.stderr.write(`${m}\n`));
  let last = '';
  const log = (m: string) => {
    if (m !== last) write(m); // say it once, not every second
    last = m;
  };
  const base = `${o.registry}/services/${o.service}/versions/${o.version}/instances`;
  const auth: Record<string, string> = o.token ? { authorization: `Bearer ${o.token}` } : {};
  const headers = { ...auth, 'content-type': 'application/json' };
  let registered = false;
  let stopped = false;
  let timer: NodeJS.Timeout | null = null;

  const tick = async () => {
    try {
      if (registered) {
        const r = await fetch(`${base}/${o.address}/keepalive`, { method: 'POST', headers: auth, signal: AbortSignal.timeout(3000) });
        if (r.status === 404) {
          registered = false;
          log(`${o.service}/${o.version} ${o.address}: lease lost, registering again`);
        } else if (r.status !== 200) {
          log(`${o.service}/${o.version} ${o.address}: keepalive answered ${r.status}: ${await r.text()}`);
        } else {
          log(`${o.service}/${o.version} ${o.address}: registered`);
        }
      }
      if (!registered) {
        const r = await fetch(base, { method: 'POST', headers, body: JSON.stringify({ address: o.address, ttl: `${ttl}s` }), signal: AbortSignal.timeout(3000) });
        if (r.status === 201) {
          registered = true;
          log(`${o.service}/${o.version} ${o.address}: registered (lease ${((await r.json()) as { lease: string }).lease}, ttl ${ttl}s)`);
        } else if (r.status === 404) {
          log(`${o.service}/${o.version} ${o.address}: waiting for service ${o.service} (version ${o.version}) to be registered`);
        } else {
          log(`${o.service}/${o.version} ${o.address}: registration answered ${r.status}: ${await r.text()}`);
        }
      }
    } catch (err) {
      log(`${o.service}/${o.version} ${o.address}: registry unreachable (${(err as Error).message})`);
    }
    if (!stopped) timer = setTimeout(() => void tick(), registered ? (ttl * 1000) / 3 : 1000);
  };
  void tick();

  return {
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      if (registered) await fetch(`${base}/${o.address}`, { method: 'DELETE', headers: auth }).catch(() => undefined);
    },
  };
}
