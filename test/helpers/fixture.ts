import { after, before } from 'node:test';
import { startGateway, type TestGateway } from './gateway.ts';
import { testPki, type TestPki } from './pki.ts';
import { startUpstream, type Handler, type TestUpstream } from './upstream.ts';

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

/** A PKI and an echo upstream shared by a file's tests (they start their own gateways). */
export interface PkiAndUpstream {
  readonly pki: TestPki;
  readonly up: TestUpstream;
}

/** Call at a test file's top level: a fresh PKI and an echo upstream before its tests, the upstream closed after. */
export function pkiAndUpstream(): PkiAndUpstream {
  const fx = {} as { pki: TestPki; up: TestUpstream };
  before(async () => {
    fx.pki = await testPki();
    fx.up = await startUpstream();
  });
  after(async () => {
    await fx.up.close();
  });
  return fx;
}

/** What a file's tests start one by one, each closed after the file's last test. */
export interface ClosedAfterTests {
  /** Runs `close` after the tests; everything is closed last first. */
  defer(close: () => Promise<unknown>): void;
  /** startGateway(yaml), closed after the tests. */
  gateway(yaml: string): Promise<TestGateway>;
  /** startUpstream({ handler }), closed after the tests. */
  upstream(handler?: Handler): Promise<TestUpstream>;
}

/**
 * Call at a test file's top level, for files whose tests each start their own gateway and peers:
 * whatever a test started is closed after the file's tests, even when the test failed halfway.
 */
export function closedAfterTests(): ClosedAfterTests {
  const closers: Array<() => Promise<unknown>> = [];
  after(async () => {
    for (const c of closers.reverse()) await c();
  });
  const defer = (close: () => Promise<unknown>) => void closers.push(close);
  return {
    defer,
    gateway: async (yaml) => {
      const gw = await startGateway(yaml);
      defer(() => gw.close());
      return gw;
    },
    upstream: async (handler) => {
      const u = await startUpstream({ handler });
      defer(() => u.close());
      return u;
    },
  };
}
