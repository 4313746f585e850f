/**
 * A small xDS (ADS, state of the world) management server for trying gatehouse's xDS client without
 * Istio: it serves the Envoy resources of a YAML or JSON file and pushes a new version of each type
 * whose resources changed whenever the file changes. Every DiscoveryRequest is printed (ACK / NACK).
 *
 *   node --import tsx examples/xds/server.ts [--file examples/xds/resources.yaml] [--address 127.0.0.1:18000]
 *
 * The file (Envoy's JSON/YAML shape: durations as "5s", typed_config with "@type"):
 *   routes:    [ RouteConfiguration, … ]       # RDS
 *   clusters:  [ Cluster, … ]                  # CDS
 *   endpoints: [ ClusterLoadAssignment, … ]    # EDS
 * The server is test/helpers/xds-server.ts, the one gatehouse's own tests use. The full control plane
 * with a service registry is `gatehouse control-plane`.
 */
import { readFileSync, watchFile } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import YAML from 'yaml';
import { TypeUrls } from '../../src/grpc/protos.ts';
import { TestXdsServer } from '../../test/helpers/xds-server.ts';

const { values } = parseArgs({
  options: { file: { type: 'string', default: 'examples/xds/resources.yaml' }, address: { type: 'string', default: '127.0.0.1:18000' } },
});
const file = resolve(values.file!);
const port = Number(values.address!.split(':').pop());

const TYPES = [
  { key: 'routes', url: TypeUrls.routeConfiguration },
  { key: 'clusters', url: TypeUrls.cluster },
  { key: 'endpoints', url: TypeUrls.clusterLoadAssignment },
] as const;

const server = await new TestXdsServer({ port }).start();
const served = new Map<string, string>(); // type → JSON of what it serves now

function load(): void {
  let doc: Record<string, unknown>;
  try {
    doc = (YAML.parse(readFileSync(file, 'utf8')) ?? {}) as Record<string, unknown>;
  } catch (err) {
    console.error(`${file}: ${(err as Error).message} (keeping the current resources)`);
    return;
  }
  for (const t of TYPES) {
    const list = (doc[t.key] ?? []) as Record<string, unknown>[];
    const json = JSON.stringify(list);
    if (served.get(t.url) === json) continue;
    try {
      const version = server.set(t.url, list);
      served.set(t.url, json);
      console.log(`${t.key}: version ${version} (${list.length} resources)`);
    } catch (err) {
      console.error(`${t.key}: ${(err as Error).message} (keeping version ${server.version(t.url) || 'none'})`);
    }
  }
}

load();
watchFile(file, { interval: 500 }, () => load());

// Print what the clients say, as it arrives.
let seen = 0;
setInterval(() => {
  for (const r of server.requests.slice(seen)) {
    const type = r.type_url.slice(r.type_url.lastIndexOf('.') + 1);
    const verdict = r.error_detail ? `NACK: ${r.error_detail.message}` : r.response_nonce ? 'ACK' : 'subscribe';
    const node = r.node ? ` from ${String(r.node.id)}` : '';
    console.log(`stream ${r.stream}${node}: ${type} [${r.resource_names.join(', ')}] version "${r.version_info}" ${verdict}`);
  }
  seen = server.requests.length;
}, 200).unref();

console.log(`xDS server on ${server.address}, serving ${file} (edit it: a new version is pushed)`);
for (const sig of ['SIGINT', 'SIGTERM'] as const) process.on(sig, () => void server.close().then(() => process.exit(0)));
