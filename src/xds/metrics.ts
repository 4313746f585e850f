import { Counter, Gauge } from 'prom-client';
import { registry } from '../observability/metrics.ts';

// xDS metrics, created once (prom-client); the client holds the children it uses.
//   gatehouse_xds_updates_total{type,result}   every DiscoveryResponse: accepted (ACK) or rejected (NACK)
//   gatehouse_xds_connected                    1 while a stream to the management server is up
//   gatehouse_xds_version_info{type,version}   1 for the version last accepted per type (info-style)
//   gatehouse_xds_resources{type}              resources held per type
// `type` is rds, cds or eds.

export type XdsTypeLabel = 'rds' | 'cds' | 'eds';

export const xdsUpdates = new Counter({
  name: 'gatehouse_xds_updates_total',
  help: 'xDS DiscoveryResponses by type and result (accepted = ACKed, rejected = NACKed)',
  labelNames: ['type', 'result'] as const,
  registers: [registry],
});

export const xdsConnected = new Gauge({
  name: 'gatehouse_xds_connected',
  help: '1 while the ADS stream to the xDS management server is up, else 0',
  registers: [registry],
});

export const xdsVersion = new Gauge({
  name: 'gatehouse_xds_version_info',
  help: 'The version_info last accepted per xDS type (value 1; the version is the label)',
  labelNames: ['type', 'version'] as const,
  registers: [registry],
});

export const xdsResources = new Gauge({
  name: 'gatehouse_xds_resources',
  help: 'xDS resources held per type',
  labelNames: ['type'] as const,
  registers: [registry],
});

/** Records the accepted version of a type, replacing the previous label. */
export function setVersion(type: XdsTypeLabel, previous: string, version: string): void {
  if (previous !== '') xdsVersion.remove({ type, version: previous });
  xdsVersion.set({ type, version }, 1);
}
