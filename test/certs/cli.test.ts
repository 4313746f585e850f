import { test } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { certsCommand, type CliIo } from '../../src/cli/certs.ts';
import { DEV_CERT_FILES } from '../../src/certs/dev-certs.ts';
import { tempDir } from './helpers.ts';

function capture(): CliIo & { stdout: string[]; stderr: string[] } {
  const stdout: string[] = [];
  const stderr: string[] = [];
  return { stdout, stderr, out: (l) => stdout.push(l), err: (l) => stderr.push(l) };
}

test('certs init: exit 0, prints the paths, keys 0600; second run refused (exit 1, one line), --force works', async (t) => {
  const dir = await tempDir(t);
  const io = capture();
  assert.equal(await certsCommand(['init', '--dir', dir, '--ttl', '2h', '--trust-domain', 'example.test'], io), 0);
  assert.deepEqual(io.stdout, DEV_CERT_FILES.map((f) => join(dir, f)));
  assert.deepEqual(io.stderr, []);
  for (const f of DEV_CERT_FILES.filter((f) => f.endsWith('.key'))) assert.equal((await stat(join(dir, f))).mode & 0o777, 0o600);
  const gh = new X509Certificate(await readFile(join(dir, 'gatehouse.crt')));
  assert.match(gh.subjectAltName ?? '', /spiffe:\/\/example\.test\/ns\/edge\/sa\/gatehouse/);
  const life = new Date(gh.validTo).getTime() - Date.now();
  assert.ok(life > 1.9 * 3_600_000 && life <= 2 * 3_600_000);

  const before = await readFile(join(dir, 'ca.crt'), 'utf8');
  const io2 = capture();
  assert.equal(await certsCommand(['init', '--dir', dir], io2), 1);
  assert.deepEqual(io2.stdout, []);
  assert.equal(io2.stderr.length, 1);
  assert.match(io2.stderr[0]!, /refusing to overwrite existing files .*ca\.crt/);
  assert.equal(await readFile(join(dir, 'ca.crt'), 'utf8'), before);

  const io3 = capture();
  assert.equal(await certsCommand(['certs', 'init', '--dir', dir, '--force'], io3), 0);
  assert.equal(io3.stdout.length, 9);
  assert.notEqual(await readFile(join(dir, 'ca.crt'), 'utf8'), before);
});

test('certs init: refusal with a single existing file writes nothing else', async (t) => {
  const dir = await tempDir(t);
  await writeFile(join(dir, 'internal-token.key'), 'keep me\n');
  const io = capture();
  assert.equal(await certsCommand(['init', '--dir', dir], io), 1);
  assert.deepEqual(await readdir(dir), ['internal-token.key']);
  assert.match(io.stderr[0]!, /internal-token\.key/);
});

test('certs issue: --client/--server/neither, --out, repeated --dns/--ip, rotation', async (t) => {
  const dir = await tempDir(t);
  assert.equal(await certsCommand(['init', '--dir', dir], capture()), 0);
  const ca = new X509Certificate(await readFile(join(dir, 'ca.crt')));

  const io = capture();
  const args = ['issue', '--ca-dir', dir, '--name', 'api', '--dns', 'api.test', '--dns', 'localhost', '--ip', '127.0.0.1', '--ip', '::1', '--ttl', '30m'];
  assert.equal(await certsCommand(args, io), 0);
  assert.deepEqual(io.stdout, [join(dir, 'api.key'), join(dir, 'api.crt')]);
  const x = new X509Certificate(await readFile(join(dir, 'api.crt')));
  assert.ok(x.checkIssued(ca) && x.verify(ca.publicKey));
  assert.deepEqual([...(x.keyUsage ?? [])].sort(), ['1.3.6.1.5.5.7.3.1', '1.3.6.1.5.5.7.3.2'], 'neither flag → both');
  assert.match(x.subjectAltName ?? '', /DNS:api\.test, DNS:localhost, IP Address:127\.0\.0\.1, IP Address:(::1|0:0:0:0:0:0:0:1)/);
  const life = new Date(x.validTo).getTime() - Date.now();
  assert.ok(life > 25 * 60_000 && life <= 30 * 60_000);

  assert.equal(await certsCommand([...args, '--server'], capture()), 0);
  const rotated = new X509Certificate(await readFile(join(dir, 'api.crt')));
  assert.notEqual(rotated.serialNumber, x.serialNumber);
  assert.deepEqual(rotated.keyUsage, ['1.3.6.1.5.5.7.3.1']);

  const out = join(dir, 'clients');
  const io2 = capture();
  assert.equal(await certsCommand(['issue', '--ca-dir', dir, '--name', 'svc', '--out', out, '--spiffe', 'spiffe://mesh.local/ns/a/sa/b', '--client', '--ttl', '1d'], io2), 0);
  assert.deepEqual(io2.stdout, [join(out, 'svc.key'), join(out, 'svc.crt')]);
  const c = new X509Certificate(await readFile(join(out, 'svc.crt')));
  assert.deepEqual(c.keyUsage, ['1.3.6.1.5.5.7.3.2']);
  assert.equal((await stat(join(out, 'svc.key'))).mode & 0o777, 0o600);
});

test('certs: usage errors exit 2 with the usage text; operational errors exit 1 with one line', async (t) => {
  const dir = await tempDir(t);
  const cases: Array<[string[], number, RegExp]> = [
    [[], 2, /usage:/],
    [['bogus'], 2, /unknown subcommand/],
    [['init', '--dri', dir], 2, /Unknown option '--dri'/],
    [['init', '--dir'], 2, /--dir/],
    [['init', 'extra'], 2, /positional/i],
    [['init', '--dir', dir, '--ttl', 'soon'], 2, /--ttl: invalid duration/],
    [['init', '--dir', dir, '--ttl', '0s'], 2, /--ttl: invalid duration/],
    [['issue', '--name', 'x', '--dns', 'x'], 2, /--ca-dir is required/],
    [['issue', '--ca-dir', dir, '--dns', 'x'], 2, /--name is required/],
    [['issue', '--ca-dir', dir, '--name', 'x', '--bogus'], 2, /Unknown option/],
    [['issue', '--ca-dir', join(dir, 'none'), '--name', 'x', '--dns', 'x.test'], 1, /cannot read the CA/],
    [['init', '--dir', dir, '--trust-domain', 'UPPER'], 1, /invalid trust domain/],
  ];
  for (const [argv, code, re] of cases) {
    const io = capture();
    assert.equal(await certsCommand(argv, io), code, `exit code for ${argv.join(' ')}`);
    assert.match(io.stderr[0] ?? '', re, `message for ${argv.join(' ')}`);
    assert.deepEqual(io.stdout, []);
    if (code === 1) assert.equal(io.stderr.length, 1);
    else assert.match(io.stderr.join('\n'), /usage:/);
  }
  const help = capture();
  assert.equal(await certsCommand(['init', '--help'], help), 0);
  assert.match(help.stdout.join('\n'), /certs issue --ca-dir/);
});
