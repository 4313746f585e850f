import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { existsSync, statSync } from 'node:fs';
import type { Browser } from 'playwright-core';
import { testPki, type TestPki } from '../helpers/pki.ts';
import { startUpstream, type TestUpstream } from '../helpers/upstream.ts';
import { startGateway, gatewayPreamble, type TestGateway } from '../helpers/gateway.ts';
import { h1 } from '../helpers/clients.ts';
import { ARTIFACTS, launchChromium } from '../helpers/browser.ts';

// The dashboard in a real browser (Debian's chromium through playwright-core): the page loads and
// shows a route and a cluster of the config, its counters rise after traffic, and a screenshot is
// written to test/artifacts/dashboard.png for a person to look at.

let pki: TestPki;
let v1: TestUpstream;
let v2: TestUpstream;
let gw: TestGateway;
let browser: Browser;

before(async () => {
  pki = await testPki();
  v1 = await startUpstream();
  v2 = await startUpstream({ handler: (_req, res) => res.writeHead(503).end('v2 is unwell') });
  gw = await startGateway(`
${gatewayPreamble(pki)}
rateLimit:
  policies: [{ name: per-ip, key: clientIp, limit: 5, window: 1m }]
virtualHosts:
  - name: shop
    domains: ["*"]
    routes:
      - { name: limited, match: { prefix: /limited }, rateLimits: [per-ip], route: { cluster: echo-v1 } }
      - { name: ping, match: { path: /ping }, directResponse: { status: 200, body: "pong" } }
      - name: checkout
        match: { prefix: / }
        route: { weightedClusters: [{ cluster: echo-v1, weight: 90 }, { cluster: echo-v2, weight: 10 }] }
clusters:
  - { name: echo-v1, discovery: { type: static, endpoints: ["${v1.address}"] } }
  - { name: echo-v2, discovery: { type: static, endpoints: ["${v2.address}"] } }
`);
  browser = await launchChromium();
});
after(async () => {
  await browser?.close();
  await gw.close();
  await v1.close();
  await v2.close();
});

test('the dashboard shows routes and clusters, its counters rise with traffic, and it is screenshotted', async () => {
  const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
  const pageErrors: string[] = [];
  page.on('pageerror', (e) => pageErrors.push(e.message));
  await page.goto(`http://127.0.0.1:${gw.adminPort}/?interval=0.5`);
  const route = page.locator('tr[data-route="shop/checkout"]');
  const cluster = page.locator('tr[data-cluster="echo-v1"]');
  await route.waitFor();
  await cluster.waitFor();
  assert.match(await route.innerText(), /checkout/);
  assert.match(await route.innerText(), /echo-v1 90% · echo-v2 10%/, 'the split weights are drawn');
  assert.match(await page.locator('tr[data-cluster="echo-v2"]').innerText(), /127\.0\.0\.1:\d+/, 'endpoints are listed');
  const before = Number((await route.locator('.requests').innerText()).replace(/,/g, ''));

  // Traffic over a few seconds, so the charts have points to draw.
  for (let round = 0; round < 6; round++) {
    const sends = [];
    for (let i = 0; i < 10; i++) sends.push(h1(pki, gw.httpsPort, `/cart/${i}`));
    for (let i = 0; i < 2; i++) sends.push(h1(pki, gw.httpsPort, '/limited'));
    await Promise.all(sends);
    await new Promise((r) => setTimeout(r, 400));
  }
  await page.waitForFunction(
    (n) => Number(document.querySelector('tr[data-route="shop/checkout"] .requests')?.textContent?.replace(/,/g, '')) >= n,
    before + 60,
    { timeout: 20_000 },
  );
  await page.waitForFunction(() => Number(document.querySelector('tr[data-policy="per-ip"] .limited')?.textContent) > 0, undefined, { timeout: 20_000 });
  assert.match(await page.locator('#status').innerText(), /ready/);

  assert.deepEqual(pageErrors, [], 'no script error on the page');
  const file = join(ARTIFACTS, 'dashboard.png');
  await page.screenshot({ path: file, fullPage: true });
  assert.ok(existsSync(file) && statSync(file).size > 10_000, 'a screenshot was written');
});
