import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { pkiAndUpstream } from '../helpers/fixture.ts';
import { basicConfig, startGateway } from '../helpers/gateway.ts';
import { spawnGateway, writeConfig, ROOT } from '../helpers/process.ts';
import { eventually } from '../helpers/net.ts';
import { h1, type Reply } from '../helpers/clients.ts';

// Overload protection: above `overload.maxEventLoopDelay` or `maxHeapUsedBytes` new requests get
// 503 `overloaded` with Retry-After (nothing reaches the upstream), the probes stay truthful, and
// traffic flows again once back under the thresholds.

const fx = pkiAndUpstream();

function overloadConfig(overload: string): string {
  return `overload: ${overload}\n` + basicConfig(fx.pki, { endpoint: fx.up.address });
}

async function adminJson(port: number, path: string): Promise<{ status: number; body: any }> {
  const r = await fetch(`http://127.0.0.1:${port}${path}`);
  return { status: r.status, body: await r.json() };
}

test('a lagging event loop (a real child gateway kept busy) sheds new requests with 503 overloaded, and recovers', async () => {
  const cfg = await writeConfig(overloadConfig('{ maxEventLoopDelay: 30ms }'));
  const gw = await spawnGateway(cfg.file, [], { NODE_OPTIONS: `--import ${join(ROOT, 'test', 'helpers', 'lag-hook.mjs')}` });
  try {
    assert.equal((await h1(fx.pki, cfg.httpsPort, '/before')).status, 200);
    assert.equal(seen('/before'), 1);

    gw.child.kill('SIGUSR2'); // the loop now lags 80 ms of every 100 ms
    let shed: Reply | null = null;
    let n = 0;
    await eventually(async () => {
      const r = await h1(fx.pki, cfg.httpsPort, `/during-${n++}`);
      if (r.status === 503) shed = r;
      return shed !== null;
    }, 'a request shed while the loop lags');
    const r = shed as unknown as Reply;
    assert.equal(JSON.parse(r.body).error, 'overloaded');
    assert.equal(r.headers['retry-after'], '1');
    assert.match(String(r.headers['x-request-id']), /^[0-9a-f]{32}$/);
    assert.equal(seen(`/during-${n - 1}`), 0, 'a shed request never reaches the upstream');

    // the probes answer truthfully while overloaded: alive, ready (see docs/security.md), overloaded
    assert.equal((await adminJson(cfg.adminPort, '/healthz')).status, 200);
    const ready = await adminJson(cfg.adminPort, '/readyz');
    assert.equal(ready.status, 200);
    assert.equal(ready.body.overloaded, true);

    gw.child.kill('SIGUSR2'); // the lag stops
    await eventually(async () => (await h1(fx.pki, cfg.httpsPort, '/after')).status === 200, 'traffic flows again');
    assert.equal((await adminJson(cfg.adminPort, '/readyz')).body.overloaded, false);
  } finally {
    await gw.kill('SIGKILL');
  }
});

test('heap use above maxHeapUsedBytes sheds requests; a reload with a higher threshold lets them through', async () => {
  // any node process uses more than 1 MB of heap: overloaded from the first sample
  const gw = await startGateway(overloadConfig('{ maxHeapUsedBytes: 1000000 }'));
  try {
    const r = await h1(fx.pki, gw.httpsPort, '/heap-shed');
    assert.equal(r.status, 503);
    assert.equal(JSON.parse(r.body).error, 'overloaded');
    assert.equal(r.headers['retry-after'], '1');
    assert.equal(seen('/heap-shed'), 0);
    const metrics = await (await fetch(`http://127.0.0.1:${gw.adminPort}/metrics`)).text();
    assert.match(metrics, /^gatehouse_overloaded 1$/m);

    gw.rewrite(overloadConfig('{ maxHeapUsedBytes: 68719476736 }'));
    const reloaded = await gw.gw.reload('test');
    assert.equal(reloaded.ok, true);
    assert.equal((await h1(fx.pki, gw.httpsPort, '/heap-ok')).status, 200);
    assert.equal(seen('/heap-ok'), 1);
  } finally {
    await gw.close();
  }
});

test('without overload configured nothing is shed', async () => {
  const gw = await startGateway(basicConfig(fx.pki, { endpoint: fx.up.address }));
  try {
    assert.equal((await h1(fx.pki, gw.httpsPort, '/no-overload')).status, 200);
    assert.equal(gw.gw.overloaded, false);
  } finally {
    await gw.close();
  }
});

function seen(path: string): number {
  return fx.up.seen.filter((r) => r.url === path).length;
}
