import * as grpc from '@grpc/grpc-js';
import { service } from 'grpc-health-check';

// A real grpc.health.v1 client (@grpc/grpc-js, the service definition from grpc-health-check), as a
// load balancer or kubelet would call the gateway's health server.

const HealthClient = grpc.makeClientConstructor(service as unknown as grpc.ServiceDefinition, 'grpc.health.v1.Health');

export interface HealthWatch {
  /** Every status received so far, in order. */
  readonly seen: string[];
  /** The stream's end: its gRPC status code (or null while open). */
  readonly ended: () => number | null;
  cancel(): void;
}

export interface TestHealthClient {
  check(service: string): Promise<{ status?: string; code?: number }>;
  list(): Promise<Record<string, string>>;
  watch(service: string): HealthWatch;
  close(): void;
}

export function healthClient(port: number): TestHealthClient {
  const client = new HealthClient(`127.0.0.1:${port}`, grpc.credentials.createInsecure()) as any;
  const deadline = () => Date.now() + 5000;
  return {
    check: (name) =>
      new Promise((resolve) =>
        client.check({ service: name }, { deadline: deadline() }, (err: grpc.ServiceError | null, res: { status: string }) =>
          resolve(err ? { code: err.code } : { status: res.status }),
        ),
      ),
    list: () =>
      new Promise((resolve, reject) =>
        client.list({}, { deadline: deadline() }, (err: grpc.ServiceError | null, res: { statuses: Record<string, { status: string }> }) => {
          if (err) return reject(err);
          resolve(Object.fromEntries(Object.entries(res.statuses).map(([k, v]) => [k, v.status])));
        }),
      ),
    watch(name) {
      const seen: string[] = [];
      let code: number | null = null;
      const call = client.watch({ service: name });
      call.on('data', (m: { status: string }) => seen.push(m.status));
      call.on('error', (e: grpc.ServiceError) => (code = e.code));
      call.on('end', () => (code ??= grpc.status.OK));
      return { seen, ended: () => code, cancel: () => call.cancel() };
    },
    close: () => client.close(),
  };
}
