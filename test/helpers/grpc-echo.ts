import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import type { TestPki } from './pki.ts';

// A real @grpc/grpc-js server for the gRPC tests: TLS with the dev upstream certificate (localhost)
// and a required client certificate, as a mesh service would, serving test/helpers/protos/echo.proto.
// Every answer carries initial metadata `x-initial` and trailing metadata `x-trailer`.

export interface Msg {
  text: string;
  n: number;
}

const definition = protoLoader.loadSync(join(import.meta.dirname, 'protos', 'echo.proto'), { keepCase: true, defaults: true });
const pkg = grpc.loadPackageDefinition(definition) as unknown as {
  gatehouse: { test: { Echo: grpc.ServiceClientConstructor } };
};
export const EchoClient = pkg.gatehouse.test.Echo;

export interface GrpcEcho {
  port: number;
  address: string;
  /** Calls received, by method name. */
  calls: string[];
  close(): Promise<void>;
}

function trailing(extra: Record<string, string> = {}): grpc.Metadata {
  const m = new grpc.Metadata();
  m.set('x-trailer', 'done');
  for (const [k, v] of Object.entries(extra)) m.set(k, v);
  return m;
}

export async function startGrpcEcho(pki: TestPki): Promise<GrpcEcho> {
  const calls: string[] = [];
  const server = new grpc.Server();
  server.addService(EchoClient.service, {
    Say(call: grpc.ServerUnaryCall<Msg, Msg>, callback: grpc.sendUnaryData<Msg>) {
      calls.push('Say');
      const { text } = call.request;
      if (text === 'slow') return; // never answers, not even headers: the gateway's route timeout decides
      if (text === 'refuse') {
        // before any metadata: gRPC's trailers-only answer (one HEADERS frame carrying the status)
        callback({ code: grpc.status.PERMISSION_DENIED, details: 'refused early', metadata: trailing() });
        return;
      }
      const initial = new grpc.Metadata();
      initial.set('x-initial', 'hello');
      call.sendMetadata(initial);
      if (text === 'fail') {
        callback({ code: grpc.status.NOT_FOUND, details: 'no such thing', metadata: trailing({ 'x-why': 'because' }) });
        return;
      }
      callback(null, { text: `echo: ${text}`, n: text.length }, trailing());
    },
    Count(call: grpc.ServerWritableStream<Msg, Msg>) {
      calls.push('Count');
      for (let i = 1; i <= call.request.n; i++) call.write({ text: `#${i}`, n: i });
      call.end(trailing({ 'x-count': String(call.request.n) }));
    },
  });
  const creds = grpc.ServerCredentials.createSsl(
    pki.read('ca.crt'),
    [{ cert_chain: pki.read('upstream.crt'), private_key: pki.read('upstream.key') }],
    true,
  );
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', creds, (err, p) => (err ? reject(err) : resolve(p))),
  );
  return {
    port,
    address: `127.0.0.1:${port}`,
    calls,
    close: () => new Promise<void>((r) => server.tryShutdown(() => r())).then(() => server.forceShutdown()),
  };
}

/** A client for the gateway at `port` (TLS, trusting the test CA; the edge certificate is for localhost). */
export function echoClient(pki: TestPki, port: number): grpc.Client & Record<string, any> {
  return new EchoClient(`localhost:${port}`, grpc.credentials.createSsl(pki.read('ca.crt'))) as grpc.Client & Record<string, any>;
}
