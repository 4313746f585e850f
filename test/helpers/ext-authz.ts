import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import * as grpc from '@grpc/grpc-js';
import { grpcService } from '../../src/grpc/protos.ts';
import type { TestPki } from './pki.ts';

// Real external authorization services on loopback for tests: an Envoy ext_authz gRPC server
// (envoy.service.auth.v3.Authorization/Check, optionally over TLS requiring a client certificate), an
// HTTP authorization server (forwardAuth style), and a TCP server that answers garbage. Each records
// what it was asked; the test's `answer` decides.

/** A CheckRequest as the proto loader reads it (Envoy's field names, enums as strings, longs as strings). */
export type CheckRequestSeen = {
  attributes: {
    source: { address: { socket_address: { address: string; port_value: number } } };
    destination: { address: { socket_address: { address: string; port_value: number } } };
    request: { time: { seconds: string }; http: Record<string, any> & { headers: Record<string, string> } };
    context_extensions: Record<string, string>;
    tls_session: { sni: string } | null;
  };
};

/** A CheckResponse object (Envoy's field names), `{ garbage }` to answer bytes that do not decode, or `{ grpcError }`. */
export type CheckAnswer = Record<string, unknown> | { garbage: Buffer } | { grpcError: grpc.status };

export interface TestGrpcAuthz {
  address: string;
  port: number;
  calls: CheckRequestSeen[];
  /** Set by the test; default: OK with no edits. */
  answer: (req: CheckRequestSeen) => CheckAnswer | Promise<CheckAnswer>;
  stop(): Promise<void>;
}

export const OK: CheckAnswer = { status: { code: 0 } };

export async function startGrpcAuthz(o: { tls?: TestPki; port?: number } = {}): Promise<TestGrpcAuthz> {
  const base = grpcService('envoy.service.auth.v3.Authorization').service;
  const check = base.Check;
  // The same service, but an answer may be raw bytes (garbage) instead of a CheckResponse.
  const definition: grpc.ServiceDefinition = {
    Check: {
      ...check,
      responseSerialize: (value: unknown) => {
        const garbage = (value as { garbage?: Buffer }).garbage;
        return garbage ?? check.responseSerialize(value);
      },
    },
  };
  const state: TestGrpcAuthz = {
    address: '',
    port: 0,
    calls: [],
    answer: () => OK,
    stop: async () => undefined,
  };
  const server = new grpc.Server();
  server.addService(definition, {
    Check: (call: grpc.ServerUnaryCall<CheckRequestSeen, unknown>, callback: grpc.sendUnaryData<unknown>) => {
      state.calls.push(call.request);
      Promise.resolve(state.answer(call.request)).then(
        (a) => {
          if ('grpcError' in a) callback({ code: a.grpcError as grpc.status, details: 'test error' });
          else callback(null, a);
        },
        (err) => callback({ code: grpc.status.INTERNAL, details: String(err) }),
      );
    },
  });
  const creds = o.tls
    ? grpc.ServerCredentials.createSsl(
        o.tls.read('ca.crt'),
        [{ cert_chain: o.tls.read('upstream.crt'), private_key: o.tls.read('upstream.key') }],
        true, // require and verify a client certificate (mutual TLS)
      )
    : grpc.ServerCredentials.createInsecure();
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync(`127.0.0.1:${o.port ?? 0}`, creds, (err, p) => (err ? reject(err) : resolve(p))),
  );
  state.port = port;
  state.address = `127.0.0.1:${port}`;
  state.stop = () => new Promise<void>((resolve) => {
    server.forceShutdown();
    resolve();
  });
  return state;
}

export interface HttpAuthzSeen {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  body: string;
}

export interface TestHttpAuthz {
  url: string;
  port: number;
  seen: HttpAuthzSeen[];
  /** Set by the test; default: 200 with no headers. */
  answer: (req: HttpAuthzSeen, res: http.ServerResponse) => void;
  stop(): Promise<void>;
}

export async function startHttpAuthz(): Promise<TestHttpAuthz> {
  const state: TestHttpAuthz = {
    url: '',
    port: 0,
    seen: [],
    answer: (_req, res) => res.end(),
    stop: async () => undefined,
  };
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const seen = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString() };
      state.seen.push(seen);
      state.answer(seen, res);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  state.port = (server.address() as AddressInfo).port;
  state.url = `http://127.0.0.1:${state.port}`;
  state.stop = () =>
    new Promise<void>((done) => {
      server.close(() => done());
      server.closeAllConnections();
    });
  return state;
}

/** A TCP server that answers every connection with bytes that are neither HTTP nor HTTP/2. */
export async function startGarbageServer(): Promise<{ address: string; port: number; stop(): Promise<void> }> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => undefined);
    s.once('data', () => s.end('garbage\x00\x01\x02 not a protocol\r\n\r\n'));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return {
    address: `127.0.0.1:${port}`,
    port,
    stop: () =>
      new Promise<void>((done) => {
        for (const s of sockets) s.destroy();
        server.close(() => done());
      }),
  };
}
