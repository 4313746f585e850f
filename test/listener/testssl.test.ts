import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { basicConfig } from '../helpers/gateway.ts';
import { gatewayFixture } from '../helpers/fixture.ts';
import { testTempDir } from '../helpers/tmp.ts';

// Issue 9 item 11, as an outside scanner sees it: testssl.sh (Debian's testssl.sh, installed by
// .ci/run) checks protocols, cipher categories and forward secrecy of a listener with the default
// TLS settings, and every finding must be clean. Bounded: three check groups only (~20 s), and the
// scanner is killed after 120 s.

const fx = gatewayFixture((pki, up) => basicConfig(pki, { endpoint: up.address }));

interface Finding {
  id: string;
  severity: string;
  finding: string;
}

function testssl(port: number): Promise<Finding[]> {
  const json = join(testTempDir('gatehouse-testssl-'), 'findings.json');
  const args = ['--quiet', '--color', '0', '--warnings', 'off', '--jsonfile', json, '--protocols', '--std', '--pfs', `127.0.0.1:${port}`];
  return new Promise((resolve, reject) => {
    const child = spawn('testssl', args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    const killer = setTimeout(() => child.kill('SIGKILL'), 120_000);
    child.on('error', reject);
    child.on('exit', () => {
      clearTimeout(killer);
      try {
        resolve(JSON.parse(readFileSync(json, 'utf8')) as Finding[]);
      } catch (err) {
        reject(new Error(`testssl gave no findings (${(err as Error).message}): ${stderr}`));
      }
    });
  });
}

test('testssl.sh: TLS 1.2/1.3 only, strong AEAD suites with forward secrecy, nothing else', async () => {
  const findings = await testssl(fx.gw.httpsPort);
  const byId = new Map(findings.map((f) => [f.id, f]));
  // The scan's own notes (e.g. engine_problem: no GOST engine in the local openssl) are not findings.
  const bad = findings.filter((f) => ['LOW', 'MEDIUM', 'HIGH', 'CRITICAL'].includes(f.severity));
  assert.deepEqual(bad, [], 'no finding above INFO');
  for (const id of ['SSLv2', 'SSLv3', 'TLS1', 'TLS1_1', 'cipherlist_NULL', 'cipherlist_aNULL', 'cipherlist_EXPORT', 'cipherlist_LOW', 'cipherlist_3DES_IDEA', 'cipherlist_AVERAGE']) {
    assert.equal(byId.get(id)?.finding, 'not offered', id);
  }
  assert.equal(byId.get('TLS1_2')?.finding, 'offered');
  assert.match(byId.get('TLS1_3')?.finding ?? '', /^offered/);
  assert.equal(byId.get('cipherlist_STRONG')?.finding, 'offered');
  assert.equal(byId.get('PFS')?.finding, 'offered');
  for (const suite of (byId.get('PFS_ciphers')?.finding ?? '').split(/\s+/).filter(Boolean)) {
    assert.match(suite, /^(TLS_|ECDHE-(RSA|ECDSA)-(AES(128|256)-GCM-SHA(256|384)|CHACHA20-POLY1305))/, suite);
  }
});
