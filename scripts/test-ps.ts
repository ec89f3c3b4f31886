/**
 * `npm run test:ps`: the PowerShell tests alone. Pester 5 runs every `steps/**\/*.Tests.ps1` (and
 * `test/powershell/**\/*.Tests.ps1`) in real pwsh (`-NoProfile -NonInteractive`), installed once per
 * machine by scripts/powershell-tools.ts. Arguments narrow the files:
 * `npm run test:ps -- steps/Grant-RemoteManagement/Grant-RemoteManagement.Tests.ps1`.
 * `npm test` calls runPowerShellTests() after the node tests.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { PROJECT_ROOT } from '../devserver/temporal-cli';
import { ensurePowerShellTools, quietToolEnv } from './powershell-tools';

/** Where Pester tests live, relative to the project root. */
const PESTER_DIRS = ['steps', path.join('test', 'powershell')];

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

// Runs inside pwsh; paths arrive in environment variables, so no value is ever PowerShell syntax.
const RUNNER = `
$ErrorActionPreference = 'Stop'
Import-Module -Name $env:FLEET_PESTER_MODULE -Force
$config = New-PesterConfiguration
$config.Run.Path = [string[]]@($env:FLEET_PESTER_FILES | ConvertFrom-Json)
$config.Run.PassThru = $true
$config.Output.Verbosity = 'Detailed'
$config.Output.RenderMode = $env:FLEET_PESTER_RENDER
$config.TestResult.Enabled = $true
$config.TestResult.OutputFormat = 'JUnitXml'
$config.TestResult.OutputPath = $env:FLEET_PESTER_JUNIT
$run = Invoke-Pester -Configuration $config
$files = @(foreach ($c in $run.Containers) {
    $outside = 0
    if ([string]$c.Result -eq 'Failed' -and $c.FailedCount -eq 0) { $outside = 1 }
    [ordered]@{ file = [string]$c.Item; result = [string]$c.Result; passed = $c.PassedCount; failed = $c.FailedCount + $outside; skipped = $c.SkippedCount; notRun = $c.NotRunCount }
})
$summary = [ordered]@{ result = [string]$run.Result; files = $files }
[System.IO.File]::WriteAllText($env:FLEET_PESTER_SUMMARY, (ConvertTo-Json -InputObject $summary -Depth 4))
`;

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
  console.log(`\n== Pester on ${files.length} PowerShell test file(s) (${tools.pwsh})`);
  if (files.length === 0) {
    console.log('Pester: 0 passed, 0 failed');
    return { ok: true, totals: { passed: 0, failed: 0, files: [] } };
  }
  const outDir = path.join(PROJECT_ROOT, '.test-output');
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
      FLEET_PESTER_RENDER: color ? 'Ansi' : 'Plaintext',
      FLEET_PESTER_JUNIT: path.join(outDir, 'pester-junit.xml'),
      FLEET_PESTER_SUMMARY: summaryFile,
    }),
  });
  if (r.status !== 0 || !fs.existsSync(summaryFile)) {
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
  const { ok } = await runPowerShellTests({ required: true, files: process.argv.slice(2) });
  process.exit(ok ? 0 : 1);
}

if (require.main === module) {
  main().catch((err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  });
}
