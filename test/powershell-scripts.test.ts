import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { SCRIPT_NAMES, SCRIPT_PARAM_SCHEMAS } from '../domain/steps';
import { checkPowerShell, formatProblems } from '../powershell/parse-check';
import {
  COMMON_FILE,
  COMMON_MARKER,
  insertCommon,
  standaloneScript,
  stepScriptPath,
  STEPS_DIR,
} from '../powershell/script-text';

const COMMON = fs.readFileSync(COMMON_FILE, 'utf8');
/** The functions the common file defines. */
const COMMON_FUNCTIONS = [...COMMON.matchAll(/^function\s+([\w-]+)/gm)].map((m) => m[1]);

function stepSource(script: string): string {
  return fs.readFileSync(path.join(STEPS_DIR, script, `${script}.ps1`), 'utf8');
}

void describe('PowerShell scripts', () => {
  void it('exist for every script name, one per step folder, and nothing else', () => {
    const files = fs
      .readdirSync(STEPS_DIR, { withFileTypes: true })
      .filter((d) => d.isDirectory())
      .flatMap((d) => fs.readdirSync(path.join(STEPS_DIR, d.name)).map((f) => `${d.name}/${f}`))
      .filter((f) => f.endsWith('.ps1') && !f.endsWith('.Tests.ps1'));
    assert.deepEqual(files.sort(), SCRIPT_NAMES.map((s) => `${s}/${s}.ps1`).sort());
    for (const script of SCRIPT_NAMES) assert.ok(fs.existsSync(stepScriptPath(script)));
  });

  void it('are each tested in their folder: Pester tests of the script and the lab-versus-script contract', () => {
    const missing = SCRIPT_NAMES.flatMap((script) =>
      [`${script}.Tests.ps1`, 'contract.test.ts']
        .map((f) => path.join(script, f))
        .filter((f) => !fs.existsSync(path.join(STEPS_DIR, f)))
    );
    assert.deepEqual(missing, [], 'every step folder needs its Pester tests and its contract test');
  });

  for (const script of SCRIPT_NAMES) {
    void it(`${script} parses cleanly as a standalone script and declares its contract`, async () => {
      const text = standaloneScript(script);
      const report = await checkPowerShell(text);
      assert.deepEqual(report.problems, [], formatProblems(`${script}.ps1 (standalone)`, report.problems));
      const expected = ['Mode', 'RequestBase64', ...Object.keys(SCRIPT_PARAM_SCHEMAS[script].shape)];
      for (const name of expected) assert.ok(report.parameters.includes(name), `${script} lacks -${name}`);
      assert.ok(report.commands.includes('ConvertTo-Json'), `${script} never calls ConvertTo-Json`);
      for (const fn of COMMON_FUNCTIONS) assert.ok(text.includes(`\nfunction ${fn} {`), `${script} lacks ${fn}`);
      assert.match(text, /\[CmdletBinding\(\)\]/);
      assert.match(text, /\[ValidateSet\('plan', 'apply', 'rollback'\)\]\s*\[string\]\$Mode/);
      assert.match(text, /\.SYNOPSIS/);
      assert.match(text, /\$ErrorActionPreference = 'Stop'/);
      assert.match(text, new RegExp(`^\\$script:ScriptName = '${script}'$`, 'm'));
      assert.doesNotMatch(text, /Invoke-Expression|\biex\b/i);
      assert.ok(!text.includes(COMMON_MARKER), `${script}: the marker is replaced`);
      // Windows PowerShell 5.1 reads a .ps1 without a BOM in the ANSI code page: keep the text ASCII.
      assert.match(text, /^[\t\r\n -~]*$/, `${script} is not plain ASCII`);
    });

    void it(`${script} carries the common helpers only as its one marker, after param()`, () => {
      const source = stepSource(script);
      const lines = source.split('\n').map((l) => l.replace(/\r$/, ''));
      assert.equal(lines.filter((l) => l === COMMON_MARKER).length, 1, `${script}: one marker line`);
      assert.equal(lines.filter((l) => l.includes('monosync-common')).length, 1, `${script}: no other common region`);
      for (const fn of COMMON_FUNCTIONS) {
        assert.doesNotMatch(source, new RegExp(`^\\s*function\\s+${fn}\\b`, 'im'), `${script} copies ${fn}`);
      }
      const paramStart = lines.findIndex((l) => /^param\(/i.test(l));
      const paramEnd = lines.findIndex((l, i) => i > paramStart && /^\)\s*$/.test(l));
      assert.ok(paramStart >= 0 && paramEnd > paramStart, `${script}: a top-level param() block`);
      assert.ok(lines.indexOf(COMMON_MARKER) > paramEnd, `${script}: the marker comes after param()`);
    });
  }

  void it('the common file is one region of helpers that parses alone, with no param() block', async () => {
    assert.match(COMMON, /^#region monosync-common\n[\s\S]*\n#endregion monosync-common\n?$/);
    const report = await checkPowerShell(COMMON);
    assert.deepEqual(report.problems, [], formatProblems('MonosyncCommon.ps1', report.problems));
    assert.deepEqual(report.parameters, []);
    assert.ok(COMMON_FUNCTIONS.length >= 5, `helpers found: ${COMMON_FUNCTIONS.join(', ')}`);
  });

  void it('a step script needs exactly one marker', () => {
    assert.throws(() => insertCommon('param()\n', COMMON, 'x.ps1'), /found 0/);
    assert.throws(() => insertCommon(`${COMMON_MARKER}\n${COMMON_MARKER}\n`, COMMON, 'x.ps1'), /found 2/);
  });

  void it('the checker reports a script with a missing closing brace', async () => {
    const original = standaloneScript('Set-CbtHardening');
    const broken = original.slice(0, original.lastIndexOf('}')) + original.slice(original.lastIndexOf('}') + 1);
    const report = await checkPowerShell(broken);
    assert.ok(report.problems.length > 0, 'a truncated script must not pass');
  });

  void it('the checker reports a broken copy of the common helpers', async () => {
    const brokenCommon = COMMON.replace(/\n}\n#endregion monosync-common/, '\n#endregion monosync-common');
    assert.notEqual(brokenCommon, COMMON);
    const text = insertCommon(stepSource('Set-CbtHardening'), brokenCommon, 'Set-CbtHardening.ps1');
    const report = await checkPowerShell(text);
    assert.ok(report.problems.length > 0, 'a script with broken helpers must not pass');
  });

  void it('the checker reports an unterminated string', async () => {
    const report = await checkPowerShell("param([string]$Mode)\n$x = 'open\n");
    assert.ok(report.problems.length > 0);
  });
});
