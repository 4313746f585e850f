import * as grpc from '@grpc/grpc-js';
import { grpcService, messageType } from '../../grpc/protos.ts';
import { buildCheckRequest } from './check-request.ts';
import { CheckFailure, type Decision } from './decision.ts';
import { decisionFromCheckResponse } from './grpc-answer.ts';
import { OutageLog, type AuthzService, type CheckInput } from './service.ts';

// envoy.service.auth.v3.Authorization/Check over one grpc-js channel. The method path comes from the
// loaded service definition; messages are encoded and decoded with the same protobufjs Root
// (src/grpc/protos.ts), decoding straight into a message object (no second conversion per call).

/** Bound what one answer may cost: a CheckResponse carries headers and maybe a small denial body. */
const MAX_ANSWER_BYTES = 1024 * 1024;

export interface GrpcTls {
  readonly ca: Buffer | null;
  readonly cert: Buffer | null;
  readonly key: Buffer | null;
  readonly serverName: string | undefined;
}

function codec() {
  const Request = messageType('envoy.service.auth.v3.CheckRequest');
  const Response = messageType('envoy.service.auth.v3.CheckResponse');
  return {
    serialize(o: Record<string, unknown>): Buffer {
      const bytes = Request.encode(Request.fromObject(o)).finish();
      return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    },
    deserialize: (b: Buffer): unknown => Response.decode(b),
  };
}

function failure(err: grpc.ServiceError): CheckFailure {
  const name = grpc.status[err.code] ?? String(err.code);
  if (err.code === grpc.status.DEADLINE_EXCEEDED) return new CheckFailure('timeout', name);
  if (err.code === grpc.status.UNAVAILABLE) return new CheckFailure('unavailable', name);
  return new CheckFailure('error', name);
}

export class GrpcAuthzService implements AuthzService {
  private readonly client: grpc.Client;
  private readonly method: string;
  private readonly codec = codec();
  private readonly outage: OutageLog;
  private closed = false;

  constructor(
    readonly fingerprint: string,
    readonly target: string,
    tls: GrpcTls | null,
  ) {
    this.method = grpcService('envoy.service.auth.v3.Authorization').service.Check.path;
    const options: grpc.ChannelOptions = {
      'grpc.max_receive_message_length': MAX_ANSWER_BYTES,
      // A service that comes back is used again within seconds (grpc-js backs off up to 2 min by default).
      'grpc.initial_reconnect_backoff_ms': 250,
      'grpc.max_reconnect_backoff_ms': 5_000,
    };
    if (tls?.serverName) {
      options['grpc.ssl_target_name_override'] = tls.serverName;
      options['grpc.default_authority'] = tls.serverName;
    }
    // Verification of the service's certificate is always on (system CAs unless caFile is given).
    const creds = tls ? grpc.credentials.createSsl(tls.ca, tls.key, tls.cert) : grpc.credentials.createInsecure();
    this.client = new grpc.Client(target, creds, options);
    this.outage = new OutageLog(target);
    // Connect now, so the first request does not pay for the connection (and TLS) within its timeout.
    this.client.getChannel().getConnectivityState(true);
  }

  check(input: CheckInput): Promise<Decision> {
    const request = buildCheckRequest(input.ex, input.settings, input.body);
    return new Promise((resolve, reject) => {
      this.client.makeUnaryRequest(
        this.method,
        this.codec.serialize,
        this.codec.deserialize,
        request,
        { deadline: Date.now() + input.timeoutMs },
        (err, answer) => {
          if (err) {
            const f = failure(err);
            this.outage.failed(f.reason, f.message);
            reject(f);
            return;
          }
          try {
            const d = decisionFromCheckResponse(answer);
            this.outage.succeeded();
            resolve(d);
          } catch (e) {
            const f = e instanceof CheckFailure ? e : new CheckFailure('invalid_answer', 'unreadable answer');
            this.outage.failed(f.reason, f.message);
            reject(f);
          }
        },
      );
    });
  }

  close(graceMs = 0): void {
    if (this.closed) return;
    this.closed = true;
    if (graceMs <= 0) {
      this.client.close();
      return;
    }
    setTimeout(() => this.client.close(), graceMs).unref();
  }
}
