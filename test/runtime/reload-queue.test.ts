import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { testPki } from '../helpers/pki.ts';
import { startGateway, basicConfig, type TestGateway } from '../helpers/gateway.ts';
import { h1 } from '../helpers/clients.ts';

// A reload asked for while another runs gets the result of the rebuild that includes its change,
// not the result of the one already running (which read the file before the change).

let gw: TestGateway | null = null;
after(async () => gw?.close());

test('a reload queued behind a running one answers with the rebuild that read the newer file', async () => {
  const pki = await testPki();
  const config = (body: string) =>
    basicConfig(pki, { endpoint: '127.0.0.1:9', routes: `      - { name: marker, match: { path: /marker }, directResponse: { status: 200, body: "${body}" } }` });
  gw = await startGateway(config('one'));
  const running = gw.gw.reload('first');
  gw.rewrite(config('two'));
  const queued = await gw.gw.reload('second');
  const first = await running;
  assert.equal(first.ok, true);
  assert.equal(queued.ok, true);
  assert.ok(queued.ok && first.ok && queued.version > first.version, `queued ${JSON.stringify(queued)} after ${JSON.stringify(first)}`);
  assert.equal((await h1(pki, gw.httpsPort, '/marker')).body, 'two');
});
