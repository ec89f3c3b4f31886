import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { SCRIPT_PARAM_SCHEMAS } from '../domain/scripts';
import { SCRIPT_NAMES } from '../domain/steps';
import { checkPowerShell, formatProblems } from '../powershell/parse-check';

const SCRIPTS_DIR = path.join(__dirname, '..', 'powershell', 'scripts');
const COMMON_REGION = /#region monosync-common[\s\S]*?#endregion monosync-common/;

function source(script: string): string {
  return fs.readFileSync(path.join(SCRIPTS_DIR, `${script}.ps1`), 'utf8');
}

void describe('PowerShell scripts', () => {
  void it('exist for every script name and nothing else', () => {
    const files = fs.readdirSync(SCRIPTS_DIR).filter((f) => f.endsWith('.ps1'));
    assert.deepEqual(files.sort(), SCRIPT_NAMES.map((s) => `${s}.ps1`).sort());
  });

  for (const script of SCRIPT_NAMES) {
    void it(`${script} parses cleanly and declares its contract`, async () => {
      const text = source(script);
      const report = await checkPowerShell(text);
      assert.deepEqual(report.problems, [], formatProblems(`${script}.ps1`, report.problems));
      const expected = ['Mode', 'RequestBase64', ...Object.keys(SCRIPT_PARAM_SCHEMAS[script].shape)];
      for (const name of expected) assert.ok(report.parameters.includes(name), `${script} lacks -${name}`);
      assert.ok(report.commands.includes('ConvertTo-Json'), `${script} never calls ConvertTo-Json`);
      assert.match(text, /\[CmdletBinding\(\)\]/);
      assert.match(text, /\[ValidateSet\('plan', 'apply', 'rollback'\)\]\s*\[string\]\$Mode/);
      assert.match(text, /\.SYNOPSIS/);
      assert.match(text, /\$ErrorActionPreference = 'Stop'/);
      assert.doesNotMatch(text, /Invoke-Expression|\biex\b/i);
    });
  }

  void it('carry identical copies of the inlined helpers', () => {
    const regions = SCRIPT_NAMES.map((s) => COMMON_REGION.exec(source(s))?.[0]);
    assert.ok(regions.every((r) => r !== undefined));
    assert.equal(new Set(regions).size, 1);
  });

  void it('the checker reports a script with a missing closing brace', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ps-broken-'));
    try {
      const original = source('Set-CbtHardening');
      const broken = original.slice(0, original.lastIndexOf('}')) + original.slice(original.lastIndexOf('}') + 1);
      const file = path.join(dir, 'Set-CbtHardening.ps1');
      fs.writeFileSync(file, broken);
      const report = await checkPowerShell(fs.readFileSync(file, 'utf8'));
      assert.ok(report.problems.length > 0, 'a truncated script must not pass');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  void it('the checker reports an unterminated string', async () => {
    const report = await checkPowerShell("param([string]$Mode)\n$x = 'open\n");
    assert.ok(report.problems.length > 0);
  });
});
