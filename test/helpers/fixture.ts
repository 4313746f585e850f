import { after, before } from 'node:test';
import { startGateway, type TestGateway } from './gateway.ts';
import { testPki, type TestPki } from './pki.ts';
import { startUpstream, type TestUpstream } from './upstream.ts';

// The prelude many test files repeated: one PKI, one echo upstream and one gateway in front of it,
// shared by every test of the file.

/** What a file's tests share; the fields are set once its `before` hook ran. */
export interface GatewayFixture {
  readonly pki: TestPki;
  readonly up: TestUpstream;
  readonly gw: TestGateway;
}

/**
 * Call at a test file's top level: before its tests, a fresh PKI, an echo upstream and a gateway
 * from `config(pki, up)`; after them, the gateway and then the upstream are closed.
 */
export function gatewayFixture(config: (pki: TestPki, up: TestUpstream) => string): GatewayFixture {
  const fx = {} as { pki: TestPki; up: TestUpstream; gw: TestGateway };
  before(async () => {
    fx.pki = await testPki();
    fx.up = await startUpstream();
    fx.gw = await startGateway(config(fx.pki, fx.up));
  });
  after(async () => {
    await fx.gw.close();
    await fx.up.close();
  });
  return fx;
}
