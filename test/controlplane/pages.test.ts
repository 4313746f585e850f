import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { TypeUrls } from '../../src/grpc/protos.ts';
import { startEtcd, type TestEtcd } from '../helpers/etcd.ts';
import { etcdSource, startControlPlane, type TestControlPlane } from '../helpers/control-plane.ts';
import { adsClient, type AdsTestClient } from '../helpers/ads-client.ts';
import { eventually } from '../helpers/net.ts';
import { call, get, put } from './rest.ts';

// The registry's pages in Debian's chromium (playwright-core), with JavaScript OFF: the list, the
// dependency map, the register/edit form (errors, compare-and-swap conflicts) and the NACKs.
// Screenshots go to test/artifacts/ (git-ignored) for a person to look at.

const ARTIFACTS = resolve(import.meta.dirname, '..', 'artifacts');
let etcd: TestEtcd;
let cp: TestControlPlane;
let browser: Browser;
let page: Page;
let gw: AdsTestClient;

before(async () => {
  mkdirSync(ARTIFACTS, { recursive: true });
  etcd = await startEtcd();
  cp = await startControlPlane({ source: etcdSource(etcd.endpoint) });
  const seed: Array<[string, Record<string, unknown>]> = [
    ['payments', { namespace: 'shop', owners: ['team-pay'], description: 'card payments', dependsOn: ['ledger'], versions: [{ name: 'v1', endpoints: ['10.0.1.1:9443', '10.0.1.2:9443'] }] }],
    ['inventory', { namespace: 'shop', owners: ['team-stock'], versions: [{ name: 'v3', endpoints: ['10.0.2.1:9443'] }], expose: [{ domains: ['api.example.com'], prefix: '/stock' }] }],
    ['checkout', {
      namespace: 'shop', owners: ['team-shop'], description: 'the basket and the payment step', dependsOn: ['payments', 'inventory'],
      versions: [{ name: 'v1', weight: 90, endpoints: ['10.0.0.1:9443'] }, { name: 'v2', weight: 10 }],
      expose: [{ domains: ['shop.example.com'], prefix: '/checkout', timeout: '10s', retries: { attempts: 2 } }],
    }],
    ['search', { namespace: 'web', owners: ['team-web'], dependsOn: ['inventory'], versions: [{ name: 'v1', srv: '_https._tcp.search.mesh.local' }], expose: [{ domains: ['shop.example.com'], prefix: '/search' }] }],
  ];
  for (const [name, doc] of seed) assert.ok([200, 201].includes((await put(cp.registry, name, doc)).status), name);
  await call(cp.registry, 'POST', '/services/checkout/versions/v2/instances', { address: '10.0.0.7:9443', ttl: '1h' });
  // a gateway that rejects the routes: its NACK must be visible
  gw = adsClient(cp.xdsAddress, { id: 'edge-eu-1', cluster: 'edge' });
  gw.send({ type_url: TypeUrls.routeConfiguration, resource_names: ['gatehouse'] });
  const res = await gw.next(TypeUrls.routeConfiguration);
  gw.send({ type_url: TypeUrls.routeConfiguration, resource_names: ['gatehouse'], response_nonce: res.nonce, error_detail: { code: 3, message: 'route checkout/0: retry policy not supported' } });
  await eventually(async () => (await get(cp.registry, '/status')).body.recentNacks.length > 0, 'NACK recorded');

  const executablePath = execFileSync('which', ['chromium']).toString().trim();
  browser = await chromium.launch({
    executablePath,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
  const context = await browser.newContext({ javaScriptEnabled: false, viewport: { width: 1360, height: 900 } });
  page = await context.newPage();
});

after(async () => {
  gw?.close();
  await browser?.close();
  await cp?.close();
  await etcd?.close();
});

const shot = (name: string) => page.screenshot({ path: join(ARTIFACTS, name), fullPage: true });

test('the list: services, weights, live instances, problems, the dependency map and the NACK', async () => {
  await page.goto(`${cp.registry}/`);
  assert.equal(await page.title(), 'Services · gatehouse registry');
  const rows = page.locator('#services tr[data-service]');
  assert.deepEqual(await rows.evaluateAll((trs) => trs.map((tr) => tr.getAttribute('data-service'))), ['checkout', 'inventory', 'payments', 'search']);
  const checkout = page.locator('tr[data-service="checkout"]');
  assert.match(await checkout.innerText(), /v1\s+90%/);
  assert.match(await checkout.innerText(), /v2\s+10%\s+1 live/);
  assert.match(await checkout.innerText(), /served/);
  const payments = page.locator('tr[data-service="payments"]');
  assert.match(await payments.innerText(), /left out/);
  assert.match(await payments.innerText(), /dependsOn\[0\]: no service named ledger/);
  // the map: one box per service plus the missing one, an arrow per dependsOn
  const svg = page.locator('svg.topology');
  assert.equal(await svg.locator('[data-service]').count(), 5);
  assert.equal(await svg.locator('path.edge').count(), 4);
  assert.equal(await svg.locator('path.edge.broken').count(), 1, 'the arrow to the missing ledger is drawn broken');
  assert.equal(await svg.locator('[data-service="payments"] rect.problem').count(), 1);
  const box = await svg.boundingBox();
  assert.ok(box && box.width > 300 && box.height > 100, 'the map is drawn at a readable size');
  // the gateway's NACK
  assert.match(await page.locator('tr[data-node="edge-eu-1"]').innerText(), /NACK of \d+/);
  assert.match(await page.locator('#nacks').evaluate((h) => h.nextElementSibling?.nextElementSibling?.textContent ?? ''), /retry policy not supported/);
  await shot('registry-services.png');
  // a box links to its service
  await svg.locator('a[data-service="inventory"]').click();
  assert.equal(new URL(page.url()).pathname, '/ui/services/inventory');
});

test('register a service with the form (no JavaScript): it is stored, compiled and listed', async () => {
  await page.goto(`${cp.registry}/`);
  await page.getByRole('link', { name: 'Register a service' }).click();
  await page.fill('#name', 'reviews');
  await page.fill('#namespace', 'shop');
  await page.fill('#owners', 'team-reviews');
  await page.fill('#description', 'product reviews');
  await page.check('input[name="dependsOn"][value="inventory"]');
  await page.fill('input[name="v0.name"]', 'v1');
  await page.fill('input[name="v0.weight"]', '80');
  await page.fill('input[name="v0.endpoints"]', '10.0.5.1:9443, 10.0.5.2:9443');
  await page.fill('input[name="v1.name"]', 'v2');
  await page.fill('input[name="v1.weight"]', '20');
  await page.fill('input[name="e0.domains"]', 'shop.example.com');
  await page.fill('input[name="e0.prefix"]', '/reviews');
  await page.fill('input[name="e0.timeout"]', '5s');
  await shot('registry-form-new.png');
  await page.getByRole('button', { name: 'Register' }).click();
  assert.equal(new URL(page.url()).pathname, '/ui/services/reviews');
  assert.match(await page.locator('h1').innerText(), /reviews\s+served/);
  await shot('registry-service.png');
  const stored = await get(cp.registry, '/services/reviews');
  assert.equal(stored.status, 200);
  assert.deepEqual(stored.body.dependsOn, ['inventory']);
  assert.deepEqual(stored.body.versions, [{ name: 'v1', weight: 80, endpoints: ['10.0.5.1:9443', '10.0.5.2:9443'] }, { name: 'v2', weight: 20 }]);
  const routes = (await get(cp.registry, '/resources')).body.routeConfigurations[0].virtual_hosts.flatMap((v: any) => v.routes.map((r: any) => r.name));
  assert.ok(routes.includes('reviews/0'));
});

test('a wrong value comes back with its error and the engineer\'s input kept', async () => {
  await page.goto(`${cp.registry}/ui/services/reviews/edit`);
  await page.fill('input[name="v0.weight"]', '-3');
  await page.fill('input[name="e0.timeout"]', 'soon');
  await page.getByRole('button', { name: 'Save' }).click();
  const errors = await page.locator('#form-errors').innerText();
  assert.match(errors, /versions\[0\]\.weight: must be a number ≥ 0/);
  assert.match(errors, /expose\[0\]\.timeout: invalid duration "soon"/);
  assert.equal(await page.inputValue('input[name="v0.weight"]'), '-3');
  assert.equal(await page.inputValue('#owners'), 'team-reviews');
  await shot('registry-form-errors.png');
  assert.equal((await get(cp.registry, '/services/reviews')).body.versions[0].weight, 80, 'nothing stored');
});

test('someone else saved meanwhile: the form shows the conflict instead of overwriting', async () => {
  await page.goto(`${cp.registry}/ui/services/reviews/edit`);
  const current = await get(cp.registry, '/services/reviews');
  assert.equal((await put(cp.registry, 'reviews', { ...current.body, owners: ['someone-else'] }, { 'if-match': current.etag! })).status, 200);
  await page.fill('#description', 'my edit');
  await page.getByRole('button', { name: 'Save' }).click();
  const banner = await page.locator('#conflict').innerText();
  assert.match(banner, /someone else changed reviews/);
  assert.match(banner, /someone-else/);
  assert.equal(await page.inputValue('#description'), 'my edit', 'the engineer\'s edit is kept');
  await shot('registry-form-conflict.png');
  assert.deepEqual((await get(cp.registry, '/services/reviews')).body.owners, ['someone-else']);
  // saving again, deliberately, replaces it
  await page.getByRole('button', { name: 'Save' }).click();
  assert.equal(new URL(page.url()).pathname, '/ui/services/reviews');
  assert.equal((await get(cp.registry, '/services/reviews')).body.description, 'my edit');
});

test('delete from the service page', async () => {
  await page.goto(`${cp.registry}/ui/services/reviews`);
  await page.getByRole('button', { name: 'Delete reviews' }).click();
  assert.equal(new URL(page.url()).pathname, '/');
  assert.equal(await page.locator('tr[data-service="reviews"]').count(), 0);
  assert.equal((await get(cp.registry, '/services/reviews')).status, 404);
});
