import * as grpc from '@grpc/grpc-js';
import { grpcService } from '../../src/grpc/protos.ts';
import { emit, exitWithParent } from './common.ts';

// A local Envoy ext_authz service (envoy.service.auth.v3.Authorization/Check) that allows every request
// and adds one header toward the upstream (the shape of a service injecting an identity header), so
// the measured path includes applying an OK answer. Plaintext gRPC on loopback.

const ANSWER = {
  status: { code: 0 },
  ok_response: { headers: [{ header: { key: 'x-authz', value: 'ok' }, append: { value: false } }] },
};

const server = new grpc.Server();
server.addService(grpcService('envoy.service.auth.v3.Authorization').service, {
  Check: (_call: grpc.ServerUnaryCall<unknown, unknown>, callback: grpc.sendUnaryData<unknown>) => callback(null, ANSWER),
});
exitWithParent(() => server.forceShutdown());
server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, port) => {
  if (err) throw err;
  emit('listening', { port });
});
