/**
 * The Windows PowerShell 5.1 check (powershell/compat-check.ts): each rule against a small script that
 * breaks it and a close variant that does not, then every script a server runs, and the Pester tests and
 * their kit (they run on Windows PowerShell 5.1 too: README, "Testing the PowerShell scripts").
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { SCRIPT_NAMES } from '../domain/steps';
import {
  checkWindowsPowerShell51,
  COMPAT_RULES,
  formatCompatProblems,
  type CompatProblem,
  type CompatRuleId,
} from '../powershell/compat-check';
import { COMMON_FILE, COMMON_MARKER, standaloneScript, stepScriptPath } from '../powershell/script-text';
import { PWSH_VERSION, quietToolEnv, toolsCacheDir } from '../scripts/powershell-tools';

const ROOT = path.join(__dirname, '..');
const rel = (file: string) => path.relative(ROOT, file).split(path.sep).join('/');

/** What pwsh 7's AST holds for a PowerShell 7-only operator (see ORACLE below). */
type Construct = 'ternary' | '??' | '??=' | '?.' | '?[' | '&&' | '||' | 'variable?';

interface Case {
  rule: CompatRuleId;
  title: string;
  /** Breaks the rule at `line` (1-based). */
  breaks: string;
  line: number;
  subject: string;
  /** A close variant that Windows PowerShell 5.1 runs as intended: nothing to report. */
  passes: string;
  /** For the syntax rules: the construct pwsh 7.6.9's own parser finds in `breaks` at `line`. */
  construct?: Construct;
}

const CASES: readonly Case[] = [
  {
    rule: 'ternary-operator',
    title: 'a ? b : c',
    breaks: "$mode = 'plan'\n$label = $mode -eq 'plan' ? 'dry run' : 'live'\n",
    line: 2,
    subject: '?:',
    passes:
      "$mode = 'plan'\n$label = if ($mode -eq 'plan') { 'dry run' } else { 'live' }\n" +
      "$running = Get-Service | ? { $_.Status -eq 'Running' }\n$text = 'plan? yes : no'\n",
    construct: 'ternary',
  },
  {
    rule: 'ternary-operator',
    title: 'a ternary spread over lines, inside a script block',
    breaks: '$flags = @(1, 0) | ForEach-Object {\n    $_ ?\n        $true :\n        $false\n}\n',
    line: 2,
    subject: '?:',
    passes:
      '$flags = @(1, 0) | ForEach-Object {\n    if ($_) {\n        $true\n    } else {\n        $false\n    }\n}\n',
    construct: 'ternary',
  },
  {
    rule: 'ternary-operator',
    title: '(a)?b:c without spaces',
    breaks: "$mode = 'plan'\n$label = ($mode -eq 'plan')?'dry run':'live'\n",
    line: 2,
    subject: '?:',
    passes: "$mode = 'plan'\n$label = if ($mode -eq 'plan') { 'dry run' } else { 'live' }\n",
    construct: 'ternary',
  },
  {
    rule: 'null-coalescing-operator',
    title: 'a ?? b',
    breaks: '$request = $null\n$port = $request.port ?? 5986\n',
    line: 2,
    subject: '??',
    passes: '$request = $null\n$port = if ($null -ne $request.port) { $request.port } else { 5986 }\n',
    construct: '??',
  },
  {
    rule: 'null-coalescing-operator',
    title: '$a ??= b',
    breaks: '$cache = $null\n$cache ??= @{}\n',
    line: 2,
    subject: '??=',
    passes: '$cache = $null\nif ($null -eq $cache) { $cache = @{} }\n',
    construct: '??=',
  },
  {
    rule: 'null-conditional-operator',
    title: '${a}?.Member',
    breaks: '$certificate = $null\n$subject = ${certificate}?.Subject\n',
    line: 2,
    subject: '?.',
    passes: '$certificate = $null\n$subject = if ($null -ne $certificate) { $certificate.Subject }\n',
    construct: '?.',
  },
  {
    rule: 'null-conditional-operator',
    title: '(expression)?[index]',
    breaks: "$first = (Get-ChildItem -Path 'Cert:\\LocalMachine\\My')?[0]\n",
    line: 1,
    subject: '?[',
    passes: "$first = @(Get-ChildItem -Path 'Cert:\\LocalMachine\\My')[0]\n",
    construct: '?[',
  },
  {
    rule: 'null-conditional-operator',
    title: '$a?.Member reads the variable a? (in every version)',
    breaks: '$certificate = Get-Item -Path $Path\n$subject = $certificate?.Subject\n',
    line: 2,
    subject: '$certificate?.',
    passes: '$certificate = Get-Item -Path $Path\n$subject = $certificate.Subject\n',
    construct: 'variable?',
  },
  {
    rule: 'pipeline-chain-operator',
    title: '&&',
    breaks: 'Import-Module -Name ActiveDirectory && Get-ADDomain\n',
    line: 1,
    subject: '&&',
    passes: 'Import-Module -Name ActiveDirectory; if ($?) { Get-ADDomain }\ncmd.exe /c "echo a && echo b"\n',
    construct: '&&',
  },
  {
    rule: 'pipeline-chain-operator',
    title: '||',
    breaks: "Test-Path -Path $Path || throw 'missing'\n",
    line: 1,
    subject: '||',
    passes: "if (-not (Test-Path -Path $Path)) { throw 'missing' }\n",
    construct: '||',
  },
  {
    rule: 'foreach-object-parallel',
    title: 'ForEach-Object -Parallel',
    breaks: '$names = @()\n$names | ForEach-Object -Parallel { Resolve-DnsName -Name $_ } -ThrottleLimit 4\n',
    line: 2,
    subject: 'ForEach-Object -Parallel',
    passes: '$names = @()\n$names | ForEach-Object -Process { Resolve-DnsName -Name $_ }\n',
  },
  {
    rule: 'foreach-object-parallel',
    title: '% -Pa (an alias and an abbreviation)',
    breaks: '$names = @()\n$names | % -Pa { Resolve-DnsName -Name $_ }\n',
    line: 2,
    subject: 'ForEach-Object -Parallel',
    passes: '$names = @()\n$names | % -Process { Resolve-DnsName -Name $_ }\n',
  },
  {
    rule: 'convertfrom-json-parameter',
    title: 'ConvertFrom-Json -AsHashtable',
    breaks: "$json = '{}'\n$state = ConvertFrom-Json -InputObject $json -AsHashtable\n",
    line: 2,
    subject: 'ConvertFrom-Json -AsHashtable',
    passes: "$json = '{}'\n$state = ConvertFrom-Json -InputObject $json\n",
  },
  {
    rule: 'convertfrom-json-parameter',
    title: 'ConvertFrom-Json -Depth (ConvertTo-Json -Depth is fine)',
    breaks: "$json = '{}'\n$state = $json | ConvertFrom-Json -Depth 10\n",
    line: 2,
    subject: 'ConvertFrom-Json -Depth',
    passes: "$json = '{}'\n$state = $json | ConvertFrom-Json\n$text = ConvertTo-Json -InputObject $state -Depth 10\n",
  },
  {
    rule: 'non-ascii-character',
    title: 'an en dash in a comment',
    breaks: '# Binds the listener \u2013 step 3.3\n$x = 1\n',
    line: 1,
    subject: 'U+2013',
    passes: '# Binds the listener - step 3.3\n$x = 1\n',
  },
  {
    rule: 'non-ascii-character',
    title:
      'typographic quotes in a string (a byte-order mark alone is fine; in single quotes they would even end the string)',
    breaks: '\uFEFF$x = 1\n$message = "the \u2018Monosync\u2019 account"\n',
    line: 2,
    subject: 'U+2018',
    passes: '\uFEFF$x = 1\n$message = "the \'Monosync\' account"\n',
  },
  {
    rule: 'native-stderr-under-stop',
    title: '& setspn.exe ... 2>&1 in a function, under a script-level Stop',
    breaks:
      "$ErrorActionPreference = 'Stop'\nfunction Add-Spn {\n" +
      "    $output = & setspn.exe -S 'HTTP/exch01.corp.example' 'EXCH01' 2>&1\n" +
      "    if ($LASTEXITCODE -ne 0) { throw ($output -join ' ') }\n}\n",
    line: 3,
    subject: 'setspn.exe',
    passes:
      "$ErrorActionPreference = 'Stop'\nfunction Add-Spn {\n" +
      "    $output = & { $ErrorActionPreference = 'Continue'; & setspn.exe -S 'HTTP/exch01.corp.example' 'EXCH01' 2>&1 }\n" +
      "    if ($LASTEXITCODE -ne 0) { throw ($output -join ' ') }\n}\n" +
      // A cmdlet's 2>&1 is not a native command's stderr.
      "$item = Get-Item -Path 'WSMan:\\localhost\\Service' 2>&1\n",
  },
  {
    rule: 'native-stderr-under-stop',
    title: 'netsh 2>$null at the top level after Stop',
    breaks: "$ErrorActionPreference = 'Stop'\nnetsh advfirewall show allprofiles 2>$null\n",
    line: 2,
    subject: 'netsh',
    passes: "$ErrorActionPreference = 'Continue'\nnetsh advfirewall show allprofiles 2>$null\n",
  },
  {
    rule: 'array-return-unrolled',
    title: 'return [string[]]@(...) (Get-DnsNames)',
    breaks:
      'function Get-DnsNames {\n    param($Certificate)\n' +
      '    return [string[]]@($Certificate.DnsNameList | ForEach-Object { [string]$_.Unicode })\n}\n',
    line: 3,
    subject: 'Get-DnsNames',
    passes:
      'function Get-DnsNames {\n    param($Certificate)\n' +
      '    return , [string[]]@($Certificate.DnsNameList | ForEach-Object { [string]$_.Unicode })\n}\n',
  },
  {
    rule: 'array-return-unrolled',
    title: 'return @(...) in a branch',
    breaks:
      'function Get-Ports {\n    param([bool]$Https)\n    if ($Https) {\n        return @(5986)\n    }\n    return , @(5985)\n}\n',
    line: 4,
    subject: 'Get-Ports',
    passes:
      'function Get-Ports {\n    param([bool]$Https)\n    if ($Https) {\n        return , @(5986)\n    }\n    return , @(5985)\n}\n',
  },
  {
    rule: 'array-return-unrolled',
    title: 'an array as the last output, through if/else',
    breaks:
      "function Get-Entries {\n    param([string]$Value)\n    if ($Value) {\n        , [string[]]($Value -split ',')\n" +
      '    } else {\n        [string[]]@()\n    }\n}\n',
    line: 6,
    subject: 'Get-Entries',
    passes:
      "function Get-Entries {\n    param([string]$Value)\n    if ($Value) {\n        , [string[]]($Value -split ',')\n" +
      '    } else {\n        , [string[]]@()\n    }\n}\n',
  },
  {
    rule: 'array-return-unrolled',
    title: 'Write-Output @(...) without -NoEnumerate',
    breaks: 'function Get-Names {\n    $names = @()\n    Write-Output @($names)\n}\n',
    line: 3,
    subject: 'Get-Names',
    passes:
      'function Get-Names {\n    $names = @()\n    Write-Output -NoEnumerate @($names)\n}\n' +
      // Not arrays, or not returned: hashtables, command output, a variable, a script block's own return.
      'function Get-State {\n    $items = @(1, 2)\n    $null = $items | ForEach-Object { return @($_) }\n' +
      '    if ($items.Count -eq 0) { return [ordered]@{ items = @() } }\n    return @{ count = $items.Count }\n}\n' +
      "function Get-Store {\n    Get-ChildItem -Path 'Cert:\\LocalMachine\\My'\n}\n" +
      'function Get-Copy {\n    param([string[]]$Names)\n    $copy = [string[]]@($Names)\n    return $copy\n}\n',
  },
];

/** PowerShell 7 operator characters where they are not operators: in 5.1 and 7 alike, nothing to report. */
const QUIET = {
  source: [
    '$x = "a ? b ?? c ?. d && e"',
    '# comment ?? x ? y : z && w',
    '$h = @"',
    'a ?? b ? c : d',
    '"@',
    "$r = $x -match '^a?b??$'",
    'Get-Process | ? Name -eq pwsh',
    'Write-Host what?',
    '$y = ${a?}',
    "[regex]::Match($x, '\\d?').Success",
    'foo ?? bar',
  ].join('\n'),
  constructs: [] as string[],
};

/**
 * Several operators among strings, comments and a here-string. The grammar does not read strings inside
 * the ERROR node an operator makes, so the `?` in them must not count as more operators.
 */
const MANY = {
  source: [
    "$a = $b ? \"what? $($c ?? 'd?')\" : @'",
    'who? x ?? y',
    "'@ # really? yes ??",
    "$e = $f ? <# why? #> 1 : 'it''s ?'",
    '$g = $h ?? ${i}?.j',
  ].join('\n'),
  constructs: ['ternary@1', '??@1', 'ternary@4', '??@5', '?.@5'],
};

const only = (problems: CompatProblem[]) => problems.map((p) => ({ rule: p.rule, line: p.line, subject: p.subject }));

void describe('Windows PowerShell 5.1 check: each rule', () => {
  void it('has a breaking script for every rule', () => {
    const covered = new Set(CASES.map((c) => c.rule));
    assert.deepEqual(
      COMPAT_RULES.map((r) => r.id).filter((id) => !covered.has(id)),
      [],
      'every rule needs a case'
    );
  });

  for (const c of CASES) {
    void it(`${c.rule}: reports ${c.title}, not its close variant`, async () => {
      const broken = await checkWindowsPowerShell51(c.breaks, 'breaks.ps1');
      assert.deepEqual(
        only(broken),
        [{ rule: c.rule, line: c.line, subject: c.subject }],
        formatCompatProblems(broken)
      );
      assert.ok(broken[0].message.length > 60 && broken[0].column > 0, 'a message with the fix, and a column');
      const fine = await checkWindowsPowerShell51(c.passes, 'passes.ps1');
      assert.deepEqual(fine, [], formatCompatProblems(fine));
    });
  }

  void it('finds nothing in strings, comments, here-strings, regexes or command arguments', async () => {
    assert.deepEqual(await checkWindowsPowerShell51(QUIET.source, 'quiet.ps1'), []);
  });

  void it('reports each operator once, where it is, with strings and comments around it', async () => {
    const problems = await checkWindowsPowerShell51(MANY.source, 'many.ps1');
    assert.deepEqual(
      problems.map((p) => `${p.line}:${p.column} ${p.rule}`),
      [
        '1:9 ternary-operator',
        '1:23 null-coalescing-operator',
        '4:9 ternary-operator',
        '5:9 null-coalescing-operator',
        '5:16 null-conditional-operator',
      ]
    );
  });
});

// ---------------------------------------------------------------------------------------------------------
// The fixtures mean to PowerShell what the cases say: pwsh 7.6.9's own parser (when it is installed) finds
// each PowerShell 7 construct where the case expects it, and parses every other fixture cleanly with none.

const ORACLE = `
$cases = [Console]::In.ReadToEnd() | ConvertFrom-Json
$L = 'System.Management.Automation.Language'
foreach ($case in $cases) {
  $tokens = $null; $errors = $null
  $ast = [System.Management.Automation.Language.Parser]::ParseInput([string]$case.source, [ref]$tokens, [ref]$errors)
  $found = @($ast.FindAll({ $true }, $true) | ForEach-Object {
    $kind = $null
    if ($_ -is ($L + '.TernaryExpressionAst' -as [type])) { $kind = 'ternary' }
    elseif ($_ -is ($L + '.BinaryExpressionAst' -as [type]) -and [string]$_.Operator -eq 'QuestionQuestion') { $kind = '??' }
    elseif ($_ -is ($L + '.AssignmentStatementAst' -as [type]) -and [string]$_.Operator -eq 'QuestionQuestionEquals') { $kind = '??=' }
    elseif ($_ -is ($L + '.MemberExpressionAst' -as [type]) -and $_.NullConditional) { $kind = '?.' }
    elseif ($_ -is ($L + '.IndexExpressionAst' -as [type]) -and $_.NullConditional) { $kind = '?[' }
    elseif ($_ -is ($L + '.PipelineChainAst' -as [type])) { $kind = [string]$_.Operator -replace 'AndAnd', '&&' -replace 'OrOr', '||' }
    elseif ($_ -is ($L + '.VariableExpressionAst' -as [type]) -and $_.VariablePath.UserPath.Length -gt 1 -and $_.VariablePath.UserPath.EndsWith('?') -and -not $_.Extent.Text.StartsWith('\${')) { $kind = 'variable?' }
    if ($kind) { '{0}@{1}' -f $kind, $_.Extent.StartLineNumber }
  })
  [ordered]@{ id = $case.id; errors = @($errors | ForEach-Object { $_.ErrorId }); found = $found } | ConvertTo-Json -Compress
}
`;

function findPwsh(): string | undefined {
  const dir = path.join(toolsCacheDir(), `pwsh-${PWSH_VERSION}`);
  try {
    const installed = path.join(dir, fs.readFileSync(path.join(dir, '.fleet-installed'), 'utf8').trim());
    if (fs.existsSync(installed)) return installed;
  } catch {
    // not installed by scripts/powershell-tools.ts; try PATH
  }
  const onPath = spawnSync('pwsh', ['-NoProfile', '-NonInteractive', '-Command', '$PSVersionTable.PSVersion.Major']);
  return onPath.status === 0 && Number(String(onPath.stdout).trim()) >= 7 ? 'pwsh' : undefined;
}

void describe('Windows PowerShell 5.1 check: the fixtures, read by pwsh 7', () => {
  void it('pwsh 7 finds each PowerShell 7 construct where the case says, and nothing in the variants', (t) => {
    const pwsh = findPwsh();
    if (!pwsh) {
      const why = `pwsh ${PWSH_VERSION} is not installed (npm run test:ps installs it)`;
      if (process.env.CI === 'true') assert.fail(why);
      console.error(`\n!!! SKIPPED: the compat fixtures were not checked against pwsh's parser: ${why}`);
      t.skip(why);
      return;
    }
    const fixtures = [
      ...CASES.flatMap((c, i) => [
        { id: `${i}:breaks`, source: c.breaks },
        { id: `${i}:passes`, source: c.passes },
      ]),
      { id: 'quiet', source: QUIET.source },
      { id: 'many', source: MANY.source },
    ];
    const run = spawnSync(pwsh, ['-NoProfile', '-NonInteractive', '-Command', ORACLE], {
      input: JSON.stringify(fixtures),
      env: quietToolEnv(),
      encoding: 'utf8',
      timeout: 60_000,
    });
    assert.equal(run.status, 0, run.stderr);
    const results = new Map(
      run.stdout
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => {
          const r = JSON.parse(l) as { id: string; errors: string[]; found: string[] };
          return [r.id, r] as const;
        })
    );
    assert.deepEqual(results.get('quiet'), { id: 'quiet', errors: [], found: QUIET.constructs });
    assert.deepEqual(results.get('many')?.found.slice().sort(), MANY.constructs.slice().sort());
    CASES.forEach((c, i) => {
      const broken = results.get(`${i}:breaks`);
      const fine = results.get(`${i}:passes`);
      assert.ok(broken && fine, `pwsh answered for case ${i}`);
      assert.deepEqual(fine.found, [], `${c.title}: the variant has no PowerShell 7 construct`);
      assert.deepEqual(fine.errors, [], `${c.title}: the variant parses`);
      if (c.construct) {
        assert.ok(
          broken.found.includes(`${c.construct}@${c.line}`),
          `${c.title}: pwsh sees ${broken.found.join(', ')}`
        );
      } else {
        assert.deepEqual([broken.found, broken.errors], [[], []], `${c.title}: valid PowerShell, no 7-only syntax`);
      }
    });
  });
});

// ---------------------------------------------------------------------------------------------------------
// The scripts servers run.

interface Known {
  file: string;
  rule: CompatRuleId;
  subject: string;
}

/**
 * Real findings in the scripts today, by file, rule and subject (not line: the scripts are being edited).
 * THIS LIST MUST SHRINK TO EMPTY: fix the script, then delete its entry here (a fixed entry fails the
 * stale-entry test below until it is deleted). Never add an entry to silence a new finding.
 */
const KNOWN: readonly Known[] = [];

const COMMON_TEXT = fs.readFileSync(COMMON_FILE, 'utf8');

/** The file and line of a line of the assembled text (see insertCommon in powershell/script-text.ts). */
function sourceLine(script: (typeof SCRIPT_NAMES)[number], line: number): { file: string; line: number } {
  const stepFile = stepScriptPath(script);
  const marker = fs
    .readFileSync(stepFile, 'utf8')
    .split('\n')
    .findIndex((l) => l.replace(/\r$/, '') === COMMON_MARKER);
  const commonLines = COMMON_TEXT.replace(/^\uFEFF/, '')
    .replace(/\r?\n$/, '')
    .split('\n').length;
  if (line <= marker) return { file: rel(stepFile), line };
  if (line <= marker + commonLines) return { file: rel(COMMON_FILE), line: line - marker };
  return { file: rel(stepFile), line: line - commonLines + 1 };
}

let allFindings: Promise<CompatProblem[]> | undefined;

/** Every problem in every assembled step script and in MonosyncCommon.ps1, by source file and line. */
function findings(): Promise<CompatProblem[]> {
  allFindings ??= (async () => {
    const found = new Map<string, CompatProblem>();
    const add = (p: CompatProblem) => found.set(`${p.file}:${p.line}:${p.column}:${p.rule}:${p.subject}`, p);
    for (const script of SCRIPT_NAMES) {
      for (const p of await checkWindowsPowerShell51(standaloneScript(script), `${script}.ps1 (assembled)`)) {
        add({ ...p, ...sourceLine(script, p.line) });
      }
    }
    for (const p of await checkWindowsPowerShell51(COMMON_TEXT, rel(COMMON_FILE))) add(p);
    return [...found.values()];
  })();
  return allFindings;
}

const isKnown = (p: CompatProblem, k: Known) => p.file === k.file && p.rule === k.rule && p.subject === k.subject;

/** Every PowerShell file under `dir` (relative to the project), sorted. */
function powerShellFiles(dir: string): string[] {
  const skip = new Set(['node_modules', '.git', '.temporal', '.test-output']);
  const walk = (at: string): string[] =>
    fs.readdirSync(at, { withFileTypes: true }).flatMap((d) => {
      if (skip.has(d.name)) return [];
      const full = path.join(at, d.name);
      return d.isDirectory() ? walk(full) : /\.ps[dm]?1$/i.test(d.name) ? [rel(full)] : [];
    });
  return fs.existsSync(dir) ? walk(dir).sort() : [];
}

/**
 * The Pester tests and their kit, which run on Windows PowerShell 5.1 as well as in the harness's pwsh 7:
 * every `*.Tests.ps1` under steps/ and test/powershell/, and every file of test/powershell/ (SeamTestKit,
 * LabSeam, RealServerKit, the contract driver Invoke-ContractCase.ps1).
 */
function pesterFiles(): string[] {
  const tests = [...powerShellFiles(path.join(ROOT, 'steps')), ...powerShellFiles(path.join(ROOT, 'test'))].filter(
    (f) => f.endsWith('.Tests.ps1')
  );
  return [...new Set([...tests, ...powerShellFiles(path.join(ROOT, 'test', 'powershell'))])].sort();
}

/**
 * PowerShell files that only pwsh 7 on Linux ever runs, each with the reason. Nothing else is exempt.
 */
const PWSH7_ONLY: Readonly<Record<string, string>> = {
  // The profile test/powershell-runner-real.test.ts loads into pwsh 7 on Linux (../../pwsh sets its
  // XDG_CONFIG_HOME): it stands in for Windows there, and serves the localised group names it holds (non-ASCII
  // on purpose). Windows never loads it.
  'test/fixtures/real-pwsh/config/powershell/profile.ps1': 'pwsh 7 profile of the Linux stand-in for Windows',
};

void describe('Windows PowerShell 5.1 check: the scripts', () => {
  void it('every PowerShell file in the project is checked here (a server script, or a Pester test or its kit)', () => {
    const checked = new Set([rel(COMMON_FILE), ...SCRIPT_NAMES.map((s) => rel(stepScriptPath(s))), ...pesterFiles()]);
    assert.deepEqual(
      powerShellFiles(ROOT).filter((f) => !checked.has(f) && !(f in PWSH7_ONLY)),
      [],
      'a new PowerShell file must be added to this check (a Pester file under steps/ or test/powershell/ is found by itself)'
    );
    for (const file of Object.keys(PWSH7_ONLY))
      assert.ok(fs.existsSync(path.join(ROOT, file)), `stale exemption: ${file}`);
  });

  void it('finds the Pester tests and the kit it checks (so the check below is not vacuous)', () => {
    const files = pesterFiles();
    for (const f of [
      'test/powershell/SeamTestKit.psm1',
      'test/powershell/LabSeam.psm1',
      'test/powershell/Invoke-ContractCase.ps1',
      'test/powershell/RealServer.Tests.ps1',
      ...SCRIPT_NAMES.map((s) => `steps/${s}/${s}.Tests.ps1`),
    ]) {
      assert.ok(files.includes(f), `${f} is checked`);
    }
  });

  void it('every Pester test file and the test kit has no problems (they run on Windows PowerShell 5.1 too)', async () => {
    const problems: CompatProblem[] = [];
    for (const file of pesterFiles()) {
      problems.push(...(await checkWindowsPowerShell51(fs.readFileSync(path.join(ROOT, file), 'utf8'), file)));
    }
    assert.deepEqual(problems, [], `\n${formatCompatProblems(problems)}`);
  });

  void it('every assembled step script and MonosyncCommon.ps1 has no problems but the known ones', async () => {
    const unexpected = (await findings()).filter((p) => !KNOWN.some((k) => isKnown(p, k)));
    assert.deepEqual(unexpected, [], `\n${formatCompatProblems(unexpected)}`);
  });

  void it('the known list has no stale entries (delete an entry once its script is fixed)', async () => {
    const all = await findings();
    const stale = KNOWN.filter((k) => !all.some((p) => isKnown(p, k)));
    assert.deepEqual(stale, [], 'fixed: delete these entries from KNOWN in test/powershell-compat.test.ts');
  });
});
