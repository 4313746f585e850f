import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import YAML from 'yaml';
import { ROOT } from '../helpers/process.ts';
import { testPki } from '../helpers/pki.ts';
import { loadConfigFile, formatConfigError } from '../../src/config/load.ts';
import type { GatewayConfig } from '../../src/config/schema.ts';
import { parseHostPort } from '../../src/upstream/cluster.ts';
import { testTempDir } from '../helpers/tmp.ts';

// deploy/kubernetes/ parsed with `yaml`: the names, ports, probe paths and drain timings of the
// Deployment, Service, PDB, HPA and ConfigMap agree with each other, with the gateway config the
// ConfigMap carries (which must load and validate), and with the Dockerfile.

const DIR = join(ROOT, 'deploy', 'kubernetes');
type Doc = Record<string, any>;

function manifest(file: string): Doc {
  const docs = YAML.parseAllDocuments(readFileSync(join(DIR, file), 'utf8'));
  assert.equal(docs.length, 1, `${file}: one document`);
  assert.deepEqual(docs[0].errors, [], `${file} parses`);
  return docs[0].toJS();
}

const configMap = manifest('configmap.yaml');
const deployment = manifest('deployment.yaml');
const service = manifest('service.yaml');
const pdb = manifest('pdb.yaml');
const hpa = manifest('hpa.yaml');
const kustomization = manifest('kustomization.yaml');
const pod = deployment.spec.template.spec;
const container = pod.containers[0];
const podLabels: Record<string, string> = deployment.spec.template.metadata.labels;
const portsByName = new Map<string, number>(container.ports.map((p: Doc) => [p.name, p.containerPort]));

/** The ConfigMap's gateway.yaml, loaded and validated with Secret paths mapped to test certificates. */
async function gatewayConfig(): Promise<GatewayConfig> {
  const pki = await testPki();
  const root = testTempDir('gatehouse-k8s-');
  for (const [dir, files] of [
    ['tls', [['edge.crt', 'tls.crt'], ['edge.key', 'tls.key']]],
    ['mesh', [['gatehouse.crt', 'tls.crt'], ['gatehouse.key', 'tls.key'], ['ca.crt', 'ca.crt']]],
  ] as const) {
    mkdirSync(join(root, dir));
    for (const [from, to] of files) copyFileSync(pki.file(from), join(root, dir, to));
  }
  const file = join(root, 'gateway.yaml');
  writeFileSync(file, String(configMap.data['gateway.yaml']).replaceAll('/etc/gatehouse/', `${root}/`));
  const r = await loadConfigFile(file, { GATEHOUSE_ADMIN_TOKEN: 'test-token' });
  assert.ok(r.ok, r.ok ? '' : r.errors.map(formatConfigError).join('\n'));
  return r.config;
}

function portOf(address: string): number {
  return parseHostPort(address)!.port;
}

test('every manifest is listed in the kustomization and selects the Deployment\'s pods', () => {
  assert.deepEqual([...kustomization.resources].sort(), ['configmap.yaml', 'deployment.yaml', 'hpa.yaml', 'pdb.yaml', 'service.yaml']);
  assert.deepEqual(deployment.spec.selector.matchLabels, podLabels);
  assert.deepEqual(service.spec.selector, podLabels);
  assert.deepEqual(pdb.spec.selector.matchLabels, podLabels);
  assert.deepEqual(hpa.spec.scaleTargetRef, { apiVersion: 'apps/v1', kind: 'Deployment', name: deployment.metadata.name });
  assert.ok(hpa.spec.minReplicas >= 2 && hpa.spec.maxReplicas > hpa.spec.minReplicas);
  assert.equal(pdb.spec.maxUnavailable, 1);
  assert.equal(service.spec.type, 'LoadBalancer');
});

test('the config is the ConfigMap\'s, mounted where the args point, and it validates', async () => {
  const mount = container.volumeMounts.find((m: Doc) => m.name === 'config');
  const volume = pod.volumes.find((v: Doc) => v.name === 'config');
  assert.equal(volume.configMap.name, configMap.metadata.name);
  const args: string[] = container.args;
  assert.equal(args[args.indexOf('--config') + 1], `${mount.mountPath}/gateway.yaml`);
  assert.ok('gateway.yaml' in configMap.data);
  const cfg = await gatewayConfig();
  // every Secret the config reads is mounted
  for (const path of ['/etc/gatehouse/tls', '/etc/gatehouse/mesh']) assert.ok(container.volumeMounts.some((m: Doc) => m.mountPath === path), path);
  // the admin token comes from the env var the Deployment sets from a Secret
  assert.equal(cfg.admin.token, 'test-token');
  assert.ok(container.env.some((e: Doc) => e.name === 'GATEHOUSE_ADMIN_TOKEN' && e.valueFrom?.secretKeyRef));
});

test('ports: listener, admin and gRPC health agree between the config, the container and the Service', async () => {
  const cfg = await gatewayConfig();
  assert.equal(portsByName.get('https'), portOf(cfg.listeners[0].address));
  assert.equal(portsByName.get('admin'), portOf(cfg.admin.address));
  assert.equal(portsByName.get('grpc-health'), portOf(cfg.grpcHealth!.address));
  // kubelet probes arrive on the pod IP: these must not be loopback-only
  for (const a of [cfg.admin.address, cfg.grpcHealth!.address, cfg.listeners[0].address]) assert.match(a, /^(0\.0\.0\.0|\[::\]):/);
  const svcPort = service.spec.ports[0];
  assert.equal(svcPort.port, 443);
  assert.equal(portsByName.get(svcPort.targetPort), portOf(cfg.listeners[0].address));
  // the Dockerfile exposes the same ports
  const exposed = /^EXPOSE (.+)$/m.exec(readFileSync(join(ROOT, 'Dockerfile'), 'utf8'))![1].split(/\s+/).map(Number);
  assert.deepEqual([...portsByName.values()].sort(), exposed.sort());
});

test('probes: liveness /healthz, readiness /readyz, on the admin port', () => {
  assert.deepEqual(container.livenessProbe.httpGet, { path: '/healthz', port: 'admin' });
  assert.deepEqual(container.readinessProbe.httpGet, { path: '/readyz', port: 'admin' });
  assert.deepEqual(container.startupProbe.httpGet, { path: '/healthz', port: 'admin' });
  assert.ok(container.readinessProbe.periodSeconds * container.readinessProbe.failureThreshold <= 5, 'readiness notices a drain within seconds');
});

test('drain timings: preStop = drain.delay, grace period > preStop + delay + timeout', async () => {
  const cfg = await gatewayConfig();
  const command: string[] = container.lifecycle.preStop.exec.command;
  assert.equal(command[0], 'sleep');
  const preStopSeconds = Number(command[1]);
  assert.equal(preStopSeconds * 1000, cfg.drain.delay);
  const grace = pod.terminationGracePeriodSeconds;
  assert.ok(grace * 1000 > preStopSeconds * 1000 + cfg.drain.delay + cfg.drain.timeout, `grace ${grace}s`);
});

test('security and resources: non-root, read-only root filesystem, no privilege escalation, requests and limits', () => {
  assert.equal(pod.securityContext.runAsNonRoot, true);
  assert.equal(pod.securityContext.runAsUser, 1000, 'the image runs as `node` (uid 1000)');
  assert.match(readFileSync(join(ROOT, 'Dockerfile'), 'utf8'), /^USER node$/m);
  assert.equal(container.securityContext.readOnlyRootFilesystem, true);
  assert.equal(container.securityContext.allowPrivilegeEscalation, false);
  assert.deepEqual(container.securityContext.capabilities.drop, ['ALL']);
  assert.ok(container.resources.requests.cpu && container.resources.requests.memory && container.resources.limits.memory);
});

test('PROXY protocol: on in the config exactly when a PROXY annotation is on in the Service', async () => {
  const cfg = await gatewayConfig();
  const annotations: Record<string, string> = service.metadata.annotations ?? {};
  const proxyOn = Object.keys(annotations).some((k) => /proxy-protocol/.test(k));
  assert.equal(cfg.listeners[0].proxyProtocol, proxyOn);
  // the commented lines name the main clouds' annotations
  const text = readFileSync(join(DIR, 'service.yaml'), 'utf8');
  for (const a of ['aws-load-balancer-proxy-protocol', 'azure-pls-proxy-protocol', 'do-loadbalancer-enable-proxy-protocol', 'GKE']) assert.ok(text.includes(a), a);
});
