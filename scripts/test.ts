/**
 * `npm test`: type check, lint, then every test file against one real Temporal dev server that this
 * harness starts for the suite (free ports, its own database file) and stops afterwards, then the
 * PowerShell (Pester) tests.
 * Arguments narrow the test files (and skip the type check and lint): `npm test -- test/approvals.test.ts`.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { writeWorkflowBundle } from '../workers/workflow-bundle';
import { freePort, startDevServer } from '../devserver/dev-server';
import { PROJECT_ROOT, TEMPORAL_DIR } from '../devserver/temporal-cli';
import { ensureChromium } from './browser-tools';
import { runPowerShellTests } from './test-ps';

function step(title: string, cmd: string, args: string[], env: NodeJS.ProcessEnv = process.env): void {
  console.log(`\n== ${title}`);
  const r = spawnSync(cmd, args, { cwd: PROJECT_ROOT, stdio: 'inherit', env });
  if (r.status !== 0) {
    console.error(`\n${title} failed`);
    process.exit(r.status ?? 1);
  }
}

async function main(): Promise<void> {
  const bin = (name: string) => path.join(PROJECT_ROOT, 'node_modules', '.bin', name);
  const requested = process.argv.slice(2);
  if (requested.length === 0) {
    step('type check (tsc --strict)', bin('tsc'), ['--noEmit', '-p', '.']);
    step('lint (eslint + prettier)', bin('eslint'), ['.']);
    step('format check', bin('prettier'), ['--check', '.']);
  } else {
    // A narrowed run is for the edit-test loop: `npm run typecheck` and `npm run lint` check the rest.
    console.log('(type check and lint not run: file arguments were given)');
  }

  const outDir = path.join(PROJECT_ROOT, '.test-output');
  fs.mkdirSync(outDir, { recursive: true });
  const dbFile = path.join(TEMPORAL_DIR, `test-${process.pid}.db`);
  const port = await freePort();
  console.log('\n== Temporal dev server for the suite');
  const server = await startDevServer({
    port,
    // With its Web UI, for the browser tests.
    uiPort: await freePort(),
    dbFile,
    log: (l) => console.log(l),
    logFile: path.join(outDir, 'temporal-server.log'),
  });
  let status: number;
  try {
    // One workflow bundle for all test files (bundling takes seconds; every file would repeat it), built
    // as production workers' is, so the tests run what they run.
    const bundlePath = path.join(outDir, 'workflow-bundle.js');
    await writeWorkflowBundle(bundlePath);

    // Tests live in test/ and, for what belongs to one step, in that step's folder.
    const testsIn = (dir: string): string[] =>
      fs
        .readdirSync(path.join(PROJECT_ROOT, dir), { recursive: true, encoding: 'utf8' })
        .filter((f) => f.endsWith('.test.ts'))
        .map((f) => path.join(dir, f))
        .sort();
    const files = requested.length > 0 ? requested : [...testsIn('test'), ...testsIn('steps')];
    // The browser tests drive Debian's Chromium (installed here once per machine); without it they skip.
    const browser = files.some((f) => /(^|[\\/])browser-[^\\/]*\.test\.ts$/.test(f))
      ? ensureChromium({ required: process.env.CI === 'true' })
      : null;
    console.log(`\n== ${files.length} test files against ${server.address}`);
    const r = spawnSync(
      process.execPath,
      ['--import', 'tsx', '--test', '--test-concurrency=1', '--test-timeout=300000', '--test-reporter=spec', ...files],
      {
        cwd: PROJECT_ROOT,
        stdio: 'inherit',
        env: {
          ...process.env,
          TEMPORAL_ADDRESS: server.address,
          TEMPORAL_NAMESPACE: server.namespace,
          FLEET_TEST_WORKFLOW_BUNDLE: bundlePath,
          FLEET_TEST_UI_URL: server.uiUrl,
          FLEET_TEST_BROWSER: browser ?? '',
          FLEET_USER: 'ci-runner',
        },
      }
    );
    status = r.status ?? 1;
  } finally {
    await server.stop();
    if (server.owned) for (const suffix of ['', '-wal', '-shm']) fs.rmSync(`${dbFile}${suffix}`, { force: true });
  }

  // Then the PowerShell tests (Pester in real pwsh; scripts/test-ps.ts), after the node totals. CI must
  // have them; elsewhere, without `dotnet`, one loud line says they did not run. File arguments narrow
  // the node tests only: `npm run test:ps -- <files>` narrows these.
  if (process.argv.length > 2) {
    console.log('\n(PowerShell tests not run: file arguments were given; `npm run test:ps` runs them)');
  } else {
    const powershell = await runPowerShellTests({ required: process.env.CI === 'true' });
    if (!powershell.ok && status === 0) status = 1;
  }
  process.exit(status);
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
