import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from '../helpers/process.ts';
import { pkiAndUpstream } from '../helpers/fixture.ts';
import { basicConfig } from '../helpers/gateway.ts';
import { eventually, freePort } from '../helpers/net.ts';
import { h1 } from '../helpers/clients.ts';
import { testTempDir } from '../helpers/tmp.ts';

// The image's command line, without a Docker engine: read the runtime stage's ENTRYPOINT and CMD
// from the Dockerfile, lay out a directory the way the image does (WORKDIR with the `npm run build`
// output in dist/, package.json, node_modules, config/), run exactly that command line with node, and
// check that the process it starts is the gateway (it serves) and that SIGTERM drains it to exit 0.

const fx = pkiAndUpstream();

/** ENTRYPOINT and CMD of the last stage, which must be in exec (JSON) form. */
function imageCommand(dockerfile: string): { entrypoint: string[]; cmd: string[]; workdir: string } {
  const lastStage = dockerfile.slice(dockerfile.lastIndexOf('\nFROM '));
  const lines = lastStage.replace(/\\\n/g, ' ').split('\n');
  const instruction = (name: string) => lines.filter((l) => l.startsWith(`${name} `)).map((l) => l.slice(name.length + 1).trim()).at(-1);
  const exec = (name: string) => {
    const v = instruction(name);
    assert.ok(v?.startsWith('['), `${name} is in exec form (no shell between the runtime and the gateway)`);
    return JSON.parse(v!) as string[];
  };
  return { entrypoint: exec('ENTRYPOINT'), cmd: exec('CMD'), workdir: instruction('WORKDIR') ?? '/' };
}

test('the Dockerfile\'s ENTRYPOINT + CMD start the compiled gateway itself, which serves and drains on SIGTERM', async () => {
  const { entrypoint, cmd, workdir } = imageCommand(readFileSync(join(ROOT, 'Dockerfile'), 'utf8'));
  assert.equal(workdir, '/app');
  assert.equal(entrypoint[0], 'node', 'node runs the gateway directly');
  for (const word of [...entrypoint, ...cmd]) assert.doesNotMatch(word, /^(npm|npx|sh|bash|tsx)$|tsx|\.ts$/, 'no npm, npx, shell or TypeScript loader in between');

  // /app as the image has it: `npm run build` output in dist/, package.json, node_modules, config/.
  const app = join(testTempDir('gatehouse-image-'), 'app');
  mkdirSync(join(app, 'config'), { recursive: true });
  const build = spawnSync(process.execPath, [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(ROOT, 'tsconfig.build.json'), '--outDir', join(app, 'dist')], {
    encoding: 'utf8',
  });
  assert.equal(build.status, 0, `npm run build: ${build.stdout}${build.stderr}`);
  copyFileSync(join(ROOT, 'package.json'), join(app, 'package.json'));
  symlinkSync(join(ROOT, 'node_modules'), join(app, 'node_modules'));

  const [httpsPort, adminPort] = await Promise.all([freePort(), freePort()]);
  const configPath = cmd[cmd.indexOf('--config') + 1];
  writeFileSync(
    join(app, configPath),
    basicConfig(fx.pki, { endpoint: fx.up.address })
      .replace('drain: { delay: 0s, timeout: 2s }', 'drain: { delay: 1s, timeout: 5s }')
      .replaceAll('{{https}}', String(httpsPort))
      .replaceAll('{{admin}}', String(adminPort)),
  );

  const child = spawn(process.execPath, [...entrypoint.slice(1), ...cmd], { cwd: app, stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, GATEHOUSE_LOG_LEVEL: 'info' } });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  const exited = new Promise<number | string>((r) => child.on('exit', (code, sig) => r(code ?? sig ?? -1)));
  try {
    await eventually(async () => (await fetch(`http://127.0.0.1:${adminPort}/readyz`).catch(() => null))?.status === 200, 'the image command serves', 60_000);
    assert.equal((await h1(fx.pki, httpsPort, '/from-the-image')).status, 200);
    assert.equal(fx.up.seen.at(-1)?.url, '/from-the-image');
    assert.match(stderr, new RegExp(`"pid":${child.pid},.*gatehouse serving`), 'the process the command started is the gateway (PID 1 in the image)');

    child.kill('SIGTERM');
    await eventually(async () => (await fetch(`http://127.0.0.1:${adminPort}/readyz`).catch(() => null))?.status === 503, 'draining');
    assert.equal(await exited, 0);
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL');
  }
});
