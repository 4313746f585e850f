import { TypeUrls } from '../grpc/protos.ts';
import type { XdsTypeLabel } from './metrics.ts';

// The state-of-the-world bookkeeping of one resource type on the ADS stream (Envoy's "xDS REST and
// gRPC protocol"): what we subscribe to, the version we last accepted and the nonce of the last
// response. Every request carries the full list of names. An ACK carries the response's
// version_info and nonce; a NACK the last accepted version, the response's nonce and an error_detail.
// A names change on a live stream carries the current version and latest nonce (a server drops
// requests with a stale nonce). On a new stream the nonce is forgotten and the first request
// carries the last accepted version, so a server that still has it need not resend.

export interface DiscoveryRequest {
  version_info: string;
  node?: Record<string, unknown>;
  resource_names: string[];
  type_url: string;
  response_nonce: string;
  error_detail?: { code: number; message: string };
}

export interface DiscoveryResponse {
  version_info: string;
  resources: Array<{ type_url: string; value: Uint8Array }>;
  type_url: string;
  nonce: string;
}

/** google.rpc.Code INVALID_ARGUMENT: what a NACK's error_detail carries. */
export const INVALID_ARGUMENT = 3;

export const XDS_TYPES: ReadonlyArray<{ label: XdsTypeLabel; url: string; kind: string }> = [
  { label: 'rds', url: TypeUrls.routeConfiguration, kind: 'RouteConfiguration' },
  { label: 'cds', url: TypeUrls.cluster, kind: 'Cluster' },
  { label: 'eds', url: TypeUrls.clusterLoadAssignment, kind: 'ClusterLoadAssignment' },
];

export class TypeSubscription {
  /** The version last accepted ('' before the first). */
  version = '';
  /** The nonce of the last response on the current stream. */
  nonce = '';
  names: readonly string[] = [];
  /** A request for these names went out on the current stream. */
  requested = false;

  constructor(readonly typeUrl: string) {}

  /** Sets the subscribed names (sorted); true when they changed. */
  setNames(names: Iterable<string>): boolean {
    const next = [...new Set(names)].sort();
    if (next.length === this.names.length && next.every((n, i) => n === this.names[i])) return false;
    this.names = next;
    return true;
  }

  /** A subscription request (first on a stream, or after a names change). */
  subscribe(): DiscoveryRequest {
    this.requested = true;
    return { version_info: this.version, resource_names: [...this.names], type_url: this.typeUrl, response_nonce: this.nonce };
  }

  ack(r: DiscoveryResponse): DiscoveryRequest {
    this.version = r.version_info;
    this.nonce = r.nonce;
    this.requested = true;
    return { version_info: this.version, resource_names: [...this.names], type_url: this.typeUrl, response_nonce: r.nonce };
  }

  nack(r: DiscoveryResponse, message: string): DiscoveryRequest {
    this.nonce = r.nonce;
    this.requested = true;
    return {
      version_info: this.version,
      resource_names: [...this.names],
      type_url: this.typeUrl,
      response_nonce: r.nonce,
      error_detail: { code: INVALID_ARGUMENT, message },
    };
  }

  /** A new stream: nonces of the old one mean nothing there. */
  newStream(): void {
    this.nonce = '';
    this.requested = false;
  }
}
