import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startGateway, type TestGateway } from '../helpers/gateway.ts';
import { eventually } from '../helpers/net.ts';
import { testPki, type TestPki } from '../helpers/pki.ts';
import { h1 } from '../helpers/clients.ts';
import { idUpstream } from '../helpers/traffic.ts';
import type { TestUpstream } from '../helpers/upstream.ts';
import { startXdsServer, type RecordedRequest, type TestXdsServer } from '../helpers/xds-server.ts';
import { CDS, EDS, edsCluster, loadAssignment, RDS, routeConfig, routeTo, xdsGatewayConfig } from '../helpers/xds-resources.ts';

// The exact DiscoveryRequests gatehouse sends, checked against Envoy's "xDS REST and gRPC protocol":
// a first subscription (RDS → CDS → EDS, each ACKed with the response's version and nonce), an
// update, a NACK (previous version, the response's nonce, error_detail naming resource and field),
// and a reconnect (a new stream re-subscribes with the last accepted versions and no nonce).

/** `type v=<version> n=<nonce> [names]` (+ ` NACK`) — one line per request, easy to compare. */
function line(r: RecordedRequest): string {
  const type = r.type_url === RDS ? 'RDS' : r.type_url === CDS ? 'CDS' : r.type_url === EDS ? 'EDS' : r.type_url;
  return `${type} v=${r.version_info} n=${r.response_nonce} [${r.resource_names.join(',')}]${r.error_detail ? ' NACK' : ''}`;
}

describe('xDS protocol: the DiscoveryRequest sequence', () => {
  let pki: TestPki;
  let xds: TestXdsServer;
  let upstream: TestUpstream;
  let gw: TestGateway;

  before(async () => {
    pki = await testPki();
    upstream = await idUpstream('svc');
    xds = await startXdsServer();
    xds.set(RDS, [routeConfig('edge', [routeTo('/', 'svc')])]);
    xds.set(CDS, [edsCluster('svc')]);
    xds.set(EDS, [loadAssignment('svc', [upstream.address])]);
    gw = await startGateway(xdsGatewayConfig(pki, xds.address));
  });

  after(async () => {
    await gw?.close();
    await xds?.close();
    await upstream?.close();
  });

  it('first subscription: RDS, then CDS for the clusters the routes name, then EDS; each ACKed', async () => {
    await eventually(() => xds.requests.length >= 6, 'six requests');
    await eventually(() => gw.gw.ready, 'ready');
    const nonce = (type: string) => xds.responses.find((r) => r.type_url === type)!.nonce;
    assert.deepEqual(xds.requests.slice(0, 6).map(line), [
      'RDS v= n= [edge]',
      `RDS v=1 n=${nonce(RDS)} [edge]`,
      'CDS v= n= [svc]',
      `CDS v=1 n=${nonce(CDS)} [svc]`,
      'EDS v= n= [svc]',
      `EDS v=1 n=${nonce(EDS)} [svc]`,
    ]);
    // The node identity travels on the first request of the stream only.
    const node = xds.requests[0]!.node!;
    assert.equal(node.id, 'gatehouse-test');
    assert.equal(node.cluster, 'edge');
    assert.equal(node.user_agent_name, 'gatehouse');
    assert.ok((node.client_features as string[]).includes('envoy.lb.does_not_support_overprovisioning'));
    assert.equal(xds.requests[1]!.node, null);
    assert.ok(xds.requests.every((r) => r.stream === 1));
    assert.equal((await h1(pki, gw.httpsPort, '/x')).status, 200);
  });

  it('an update is ACKed with its version and nonce, and takes effect', async () => {
    const from = xds.requests.length;
    xds.set(RDS, [routeConfig('edge', [{ match: { prefix: '/' }, direct_response: { status: 202, body: { inline_string: 'v2' } } }, routeTo('/', 'svc')])]);
    await eventually(() => xds.requestsOf(RDS, from).length >= 1, 'the ACK');
    const sent = xds.responses.at(-1)!;
    assert.deepEqual(xds.requestsOf(RDS, from).map(line), [`RDS v=2 n=${sent.nonce} [edge]`]);
    await eventually(async () => (await h1(pki, gw.httpsPort, '/x')).status === 202, 'the new route serves');
  });

  it('an invalid RouteConfiguration is NACKed: last good version, the response nonce, error_detail naming resource and field', async () => {
    const from = xds.requests.length;
    xds.set(RDS, [routeConfig('edge', [{ match: { safe_regex: { regex: '/(a+)+$' } }, route: { cluster: 'svc' } }])]);
    await eventually(() => xds.requestsOf(RDS, from).length >= 1, 'the NACK');
    const nack = xds.requestsOf(RDS, from)[0]!;
    assert.equal(line(nack), `RDS v=2 n=${xds.responses.at(-1)!.nonce} [edge] NACK`);
    assert.equal(nack.error_detail!.code, 3); // INVALID_ARGUMENT
    assert.match(nack.error_detail!.message, /^RouteConfiguration edge: virtual_hosts\[0\]\.routes\[0\]\.match\.safe_regex\.regex: .*backtrack/);
    // The old routes keep serving.
    assert.equal((await h1(pki, gw.httpsPort, '/x')).body, 'v2');
    const metrics = await (await fetch(`http://127.0.0.1:${gw.adminPort}/metrics`)).text();
    assert.match(metrics, /gatehouse_xds_updates_total\{type="rds",result="rejected"\} 1/);
    assert.match(metrics, /gatehouse_xds_version_info\{type="rds",version="2"\} 1/);
    const cfg = (await (await fetch(`http://127.0.0.1:${gw.adminPort}/config`)).json()) as { xds: { lastRejected: { message: string } } };
    assert.match(cfg.xds.lastRejected.message, /safe_regex/);
  });

  it('a reconnect opens a new stream that re-subscribes with the last accepted versions, then ACKs', async () => {
    xds.set(RDS, [routeConfig('edge', [routeTo('/', 'svc')])]); // v4, valid again
    await eventually(() => xds.requestsOf(RDS).some((r) => r.version_info === '4'), 'v4 ACKed');
    const from = xds.requests.length;
    await xds.restart();
    await eventually(() => xds.requests.slice(from).filter((r) => !r.error_detail && r.response_nonce !== '').length >= 3, 'three ACKs on the new stream', 30_000);
    const fresh = xds.requests.slice(from);
    assert.ok(fresh.every((r) => r.stream === 2), 'everything on one new stream');
    // The first three requests: every type, last accepted version, no nonce (nonces belong to a stream).
    assert.deepEqual(fresh.slice(0, 3).map(line), ['RDS v=4 n= [edge]', 'CDS v=1 n= [svc]', 'EDS v=1 n= [svc]']);
    assert.ok(fresh[0]!.node, 'the node on the first request of the new stream');
    for (const type of [RDS, CDS, EDS]) {
      const resp = xds.responses.filter((r) => r.stream === 2 && r.type_url === type)[0]!;
      const acks = fresh.filter((r) => r.type_url === type && r.response_nonce !== '');
      assert.deepEqual(acks.map(line), [line({ ...acks[0]!, version_info: resp.version_info, response_nonce: resp.nonce })]);
    }
    assert.equal((await h1(pki, gw.httpsPort, '/x')).status, 200);
  });
});
