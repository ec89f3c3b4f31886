/**
 * `npm run test:ps`: the PowerShell tests alone. Pester 5 runs every `steps/**\/*.Tests.ps1` (and
 * `test/powershell/**\/*.Tests.ps1`) in real pwsh (`-NoProfile -NonInteractive`), installed once per
 * machine by scripts/powershell-tools.ts. Arguments narrow the files:
 * `npm run test:ps -- steps/Grant-RemoteManagement/Grant-RemoteManagement.Tests.ps1`.
 * Pester runs through test/powershell/Invoke-PesterTests.ps1. `--tag <Tag>` runs only tests with that
 * Pester tag; the opt-in tags of that file (the real-server tests of test/powershell/RealServer.Tests.ps1)
 * run only when asked for that way:
 * `npm run test:ps -- --tag RealServer test/powershell/RealServer.Tests.ps1`.
 * `npm test` calls runPowerShellTests() after the node tests.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { PROJECT_ROOT } from '../devserver/temporal-cli';
import { ensurePowerShellTools, quietToolEnv } from './powershell-tools';

/** Where Pester tests live, relative to the project root. */
const PESTER_DIRS = ['steps', path.join('test', 'powershell')];

export interface TestPsArguments {
  files: string[];
  /** Only tests with one of these tags (empty: every test but the opt-in ones of Invoke-PesterTests.ps1). */
  tags: string[];
}

/** `[--tag <Tag>]... [file...]` (also `--tag=<Tag>`). */
export function parseTestPsArguments(argv: readonly string[]): TestPsArguments {
  const files: string[] = [];
  const tags: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--tag') {
      const tag = argv[++i];
      if (!tag || tag.startsWith('-')) throw new Error('--tag needs a Pester tag, e.g. --tag RealServer');
      tags.push(tag);
    } else if (arg.startsWith('--tag=')) {
      tags.push(arg.slice('--tag='.length));
    } else if (arg.startsWith('-')) {
      throw new Error(`unknown option ${arg} (npm run test:ps -- [--tag <Tag>]... [file.Tests.ps1]...)`);
    } else {
      files.push(arg);
    }
  }
  return { files, tags };
}

export interface PesterFileTotals {
  file: string;
  passed: number;
  /** Failed tests, plus 1 when the file failed outside any test (discovery, BeforeAll/AfterAll). */
  failed: number;
  skipped: number;
  notRun: number;
}

export interface PesterTotals {
  passed: number;
  failed: number;
  files: PesterFileTotals[];
}

export interface PowerShellTestsResult {
  /** false when a test failed, Pester could not run, or the tools were required and could not be had. */
  ok: boolean;
  /** null when the tests did not run. */
  totals: PesterTotals | null;
}

/** Every `*.Tests.ps1` under the Pester folders, relative to the project root, sorted. */
export function pesterTestFiles(): string[] {
  return PESTER_DIRS.filter((dir) => fs.existsSync(path.join(PROJECT_ROOT, dir)))
    .flatMap((dir) =>
      fs
        .readdirSync(path.join(PROJECT_ROOT, dir), { recursive: true, encoding: 'utf8' })
        .filter((f) => f.endsWith('.Tests.ps1'))
        .map((f) => path.join(dir, f))
    )
    .sort();
}

// Runs inside pwsh: test/powershell/Invoke-PesterTests.ps1 (the same entry a person uses on Windows, also in
// Windows PowerShell 5.1). Paths arrive in environment variables, so no value is ever PowerShell syntax.
const RUNNER = `
$ErrorActionPreference = 'Stop'
$arguments = @{
  PesterModule = $env:FLEET_PESTER_MODULE
  Path = [string[]]@($env:FLEET_PESTER_FILES | ConvertFrom-Json)
  Tag = [string[]]@($env:FLEET_PESTER_TAGS | ConvertFrom-Json)
  JUnitFile = $env:FLEET_PESTER_JUNIT
  SummaryFile = $env:FLEET_PESTER_SUMMARY
  RenderMode = $env:FLEET_PESTER_RENDER
}
& $env:FLEET_PESTER_SCRIPT @arguments
exit $LASTEXITCODE
`;

/** The Pester entry RUNNER calls; it also decides which tags stay out unless asked for. */
const PESTER_ENTRY = path.join(PROJECT_ROOT, 'test', 'powershell', 'Invoke-PesterTests.ps1');

interface RunnerSummary {
  result: string;
  files: (PesterFileTotals & { result: string })[];
}

/**
 * Ensures pwsh and Pester (see ensurePowerShellTools), runs Pester on `files` (default: every test
 * file), prints per-file totals and the line `Pester: N passed, N failed`. Never throws.
 */
export async function runPowerShellTests(options: {
  required: boolean;
  files?: string[];
  /** Pester tags to run; default every test but the opt-in ones of Invoke-PesterTests.ps1. */
  tags?: string[];
  /** Where the JUnit XML and the summary go; default `.test-output/` of the project. */
  outputDir?: string;
}): Promise<PowerShellTestsResult> {
  let tools;
  try {
    tools = await ensurePowerShellTools({ required: options.required });
  } catch (err) {
    console.error(`\n${err instanceof Error ? err.message : String(err)}`);
    return { ok: false, totals: null };
  }
  if (tools === null) return { ok: true, totals: null };

  const files = (options.files && options.files.length > 0 ? options.files : pesterTestFiles()).map((f) =>
    path.resolve(PROJECT_ROOT, f)
  );
  const tags = options.tags ?? [];
  const only = tags.length > 0 ? `, tags ${tags.join(', ')}` : '';
  console.log(`\n== Pester on ${files.length} PowerShell test file(s)${only} (${tools.pwsh})`);
  if (files.length === 0) {
    console.log('Pester: 0 passed, 0 failed');
    return { ok: true, totals: { passed: 0, failed: 0, files: [] } };
  }
  const outDir = options.outputDir ?? path.join(PROJECT_ROOT, '.test-output');
  fs.mkdirSync(outDir, { recursive: true });
  const summaryFile = path.join(outDir, 'pester-summary.json');
  fs.rmSync(summaryFile, { force: true });
  const color = process.stdout.isTTY && !process.env.NO_COLOR;
  const r = spawnSync(tools.pwsh, ['-NoProfile', '-NonInteractive', '-Command', RUNNER], {
    cwd: PROJECT_ROOT,
    stdio: 'inherit',
    env: quietToolEnv({
      ...process.env,
      // The tests call `node` (e.g. to assemble a step's standalone script): the same Node as this run.
      PATH: [path.dirname(process.execPath), process.env.PATH].filter(Boolean).join(path.delimiter),
      FLEET_PESTER_MODULE: tools.pesterModule,
      FLEET_PESTER_FILES: JSON.stringify(files),
      FLEET_PESTER_TAGS: JSON.stringify(tags),
      FLEET_PESTER_SCRIPT: PESTER_ENTRY,
      FLEET_PESTER_RENDER: color ? 'Ansi' : 'Plaintext',
      FLEET_PESTER_JUNIT: path.join(outDir, 'pester-junit.xml'),
      FLEET_PESTER_SUMMARY: summaryFile,
    }),
  });
  // Exit 1 with a summary: tests failed (counted below). Anything else: Pester itself did not complete.
  if ((r.status !== 0 && r.status !== 1) || !fs.existsSync(summaryFile)) {
    console.error(`\nPester did not complete (pwsh exit ${r.status ?? r.signal}); no totals`);
    console.log(`Pester: 0 passed, ${files.length} failed`);
    return { ok: false, totals: null };
  }

  const summary = JSON.parse(fs.readFileSync(summaryFile, 'utf8').replace(/^\uFEFF/, '')) as RunnerSummary;
  const perFile: PesterFileTotals[] = summary.files.map((f) => ({
    file: path.relative(PROJECT_ROOT, f.file),
    passed: f.passed,
    failed: f.failed,
    skipped: f.skipped,
    notRun: f.notRun,
  }));
  console.log('\n== Pester totals per file');
  for (const f of perFile) {
    const extra = [f.skipped ? `${f.skipped} skipped` : '', f.notRun ? `${f.notRun} not run` : ''].filter(Boolean);
    console.log(`  ${f.file}: ${f.passed} passed, ${f.failed} failed${extra.map((e) => `, ${e}`).join('')}`);
  }
  const totals: PesterTotals = {
    passed: perFile.reduce((n, f) => n + f.passed, 0),
    failed: perFile.reduce((n, f) => n + f.failed, 0),
    files: perFile,
  };
  console.log(`Pester: ${totals.passed} passed, ${totals.failed} failed`);
  return { ok: totals.failed === 0 && summary.result === 'Passed', totals };
}

async function main(): Promise<void> {
  // Asked for by name: no pwsh or Pester is an error here, not a warning.
  const { files, tags } = parseTestPsArguments(process.argv.slice(2));
  const { ok } = await runPowerShellTests({ required: true, files, tags });
  process.exit(ok ? 0 : 1);
}

if (require.main === module) {
  main().catch((err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  });
}
