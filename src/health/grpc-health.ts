import * as grpc from '@grpc/grpc-js';
import { service as healthService } from 'grpc-health-check';
import { parseHostPort } from '../upstream/cluster.ts';
import type { HealthStatuses, WatchStatus } from './health-statuses.ts';

// grpc.health.v1.Health on `grpcHealth.address`: Check, Watch and List over @grpc/grpc-js, with the
// service definition (and its proto) from grpc-health-check. The handlers are ours, not the package's
// HealthImplementation: that one can add services but never forget one (a cluster removed by a reload
// must answer NOT_FOUND, and its watchers SERVICE_UNKNOWN), and it re-sends unchanged statuses.
//
//   Check(service)  the status, or NOT_FOUND for a service not in the set;
//   Watch(service)  the status at once, then every change; SERVICE_UNKNOWN while not in the set (the
//                   stream stays open, as the protocol asks); at most MAX_WATCHES streams at a time;
//   List()          every service and its status.
// Plaintext, like the admin port and like kubelet's gRPC probes; bind it to a private address.

/** Open Watch streams allowed at once, all clients together (each costs a listener and a stream). */
export const MAX_WATCHES = 1000;

export interface GrpcHealthServer {
  readonly port: number;
  close(): Promise<void>;
}

interface HealthRequest {
  service?: string;
}

export async function startGrpcHealth(address: string, statuses: HealthStatuses): Promise<GrpcHealthServer> {
  const hp = parseHostPort(address);
  if (!hp) throw new Error(`grpcHealth.address: expected host:port, got ${address}`);
  const server = new grpc.Server({
    'grpc.max_receive_message_length': 4096, // a service name; nothing bigger is ever sent here
    'grpc.max_concurrent_streams': 100,
  });
  server.addService(healthService as unknown as grpc.ServiceDefinition, {
    check(call: grpc.ServerUnaryCall<HealthRequest, unknown>, callback: grpc.sendUnaryData<unknown>) {
      const service = call.request.service ?? '';
      const status = statuses.get(service);
      if (status) callback(null, { status });
      else callback({ code: grpc.status.NOT_FOUND, details: `unknown service ${JSON.stringify(service.slice(0, 200))}` });
    },
    watch(call: grpc.ServerWritableStream<HealthRequest, unknown>) {
      if (statuses.watching >= MAX_WATCHES) {
        call.emit('error', { code: grpc.status.RESOURCE_EXHAUSTED, details: 'too many health watches' });
        return;
      }
      const stop = statuses.watch(call.request.service ?? '', (status: WatchStatus) => {
        if (!call.cancelled && !call.destroyed) call.write({ status });
      });
      call.on('cancelled', stop);
      call.on('close', stop);
      call.on('error', stop);
    },
    list(_call: grpc.ServerUnaryCall<unknown, unknown>, callback: grpc.sendUnaryData<unknown>) {
      const out: Record<string, { status: string }> = {};
      for (const [service, status] of statuses.entries()) out[service] = { status };
      callback(null, { statuses: out });
    },
  });
  const host = hp.host.includes(':') ? `[${hp.host}]` : hp.host;
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync(`${host}:${hp.port}`, grpc.ServerCredentials.createInsecure(), (err, bound) => (err ? reject(err) : resolve(bound))),
  );
  return {
    port,
    close: () =>
      new Promise<void>((resolve) => {
        // Watch streams never end on their own: cut them (clients retry, as the protocol tells them to).
        server.forceShutdown();
        resolve();
      }),
  };
}
