import './runtime/heap-tuning.ts'; // first: V8 flags must be set before the serving code is loaded
import './runtime/background-threads.ts'; // V8's and node's helper threads yield the core to the serving thread
import { VERSION } from './version.ts';

// Wiring only: picks the command and hands it the rest of the arguments. Each command's code is
// loaded when it runs, so the serving gateway carries no certificate tooling, control plane or demo.

const USAGE = `usage:
  gatehouse [run] --config FILE [--workers N]
  gatehouse validate --config FILE
  gatehouse explain --config FILE [-X METHOD] [-H 'name: value']... [--json] URL
  gatehouse certs init [--dir certs] [--ttl 24h] [--trust-domain mesh.local] [--force]
  gatehouse certs issue --ca-dir DIR --name N [--out DIR] [--dns H]... [--ip A]... [--spiffe URI] [--ttl D] [--client|--server]
  gatehouse control-plane --config FILE
  gatehouse demo                      (what npm start runs: dev certificates, demo services, the gateway)
  gatehouse version
`;

async function main(argv: string[]): Promise<number> {
  const [verb, ...rest] = argv;
  switch (verb) {
    case 'run':
      return (await import('./cli/run.ts')).runCommand(rest);
    case 'validate':
      return (await import('./cli/validate.ts')).validateCommand(rest);
    case 'explain':
      return (await import('./cli/explain.ts')).explainCommand(rest);
    case 'certs':
      return (await import('./cli/certs.ts')).certsCommand(rest);
    case 'control-plane':
      return (await import('./cli/control-plane.ts')).controlPlaneCommand(rest);
    case 'demo':
      return (await import('./demo/start.ts')).demoCommand();
    case 'version':
    case '--version':
      process.stdout.write(`gatehouse ${VERSION}\n`);
      return 0;
    case 'help':
    case '--help':
    case '-h':
      process.stdout.write(USAGE);
      return 0;
    default:
      if (verb?.startsWith('-')) return (await import('./cli/run.ts')).runCommand(argv);
      process.stderr.write(USAGE);
      return 2;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err) => {
    process.stderr.write(`gatehouse: ${(err as Error).stack ?? err}\n`);
    process.exitCode = 1;
  },
);
