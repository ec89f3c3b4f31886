/**
 * The real-server mode of the Pester tests (test/powershell/RealServer.Tests.ps1): `npm test` and
 * `npm run test:ps` leave it out (test/powershell/Invoke-PesterTests.ps1 excludes its tags), `--tag
 * RealServer` asks for it, and on a host that is not Windows it runs nothing and says why, in one sentence
 * (here: Linux).
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { parseTestPsArguments, runPowerShellTests } from '../scripts/test-ps';
import { ensurePowerShellTools } from '../scripts/powershell-tools';

const REAL_SERVER_FILE = path.join('test', 'powershell', 'RealServer.Tests.ps1');
const NOT_WINDOWS = 'this host is not Windows';

void describe('npm run test:ps arguments', () => {
  void it('takes --tag (repeated, or --tag=) and files, in any order', () => {
    assert.deepEqual(parseTestPsArguments(['--tag', 'RealServer', 'a.Tests.ps1', '--tag=RealServerApply']), {
      files: ['a.Tests.ps1'],
      tags: ['RealServer', 'RealServerApply'],
    });
    assert.deepEqual(parseTestPsArguments([]), { files: [], tags: [] });
    assert.throws(() => parseTestPsArguments(['--tag']), /--tag needs a Pester tag/);
    assert.throws(() => parseTestPsArguments(['--tags', 'x']), /unknown option --tags/);
  });

  void it('counts a failing Pester test as a failure, not as Pester not completing', async (t) => {
    const tools = await ensurePowerShellTools({ required: process.env.CI === 'true', log: () => {} });
    if (tools === null) {
      t.skip('pwsh is not installed (npm run test:ps installs it)');
      return;
    }
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'test-ps-failing-'));
    try {
      const file = path.join(dir, 'Failing.Tests.ps1');
      fs.writeFileSync(file, "Describe 'd' { It 'passes' { 1 | Should -Be 1 }; It 'fails' { 1 | Should -Be 2 } }\n");
      const result = await runPowerShellTests({ required: true, files: [file], outputDir: dir });
      assert.equal(result.ok, false);
      assert.deepEqual(result.totals && [result.totals.passed, result.totals.failed], [1, 1]);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

void describe('RealServer.Tests.ps1 in real pwsh on this (non-Windows) host', () => {
  void it('runs nothing by default, and with --tag skips each part naming why: not Windows', async (t) => {
    if (process.platform === 'win32') {
      t.skip('on Windows the refusal is about elevation, the fleet file or the opt-in, not the platform');
      return;
    }
    const tools = await ensurePowerShellTools({ required: process.env.CI === 'true', log: () => {} });
    if (tools === null) {
      t.skip('pwsh is not installed (npm run test:ps installs it)');
      return;
    }
    const outputDir = fs.mkdtempSync(path.join(os.tmpdir(), 'real-server-pester-'));
    try {
      const byDefault = await runPowerShellTests({ required: true, files: [REAL_SERVER_FILE], outputDir });
      assert.ok(byDefault.ok);
      assert.deepEqual(
        byDefault.totals?.files.map((f) => [f.file, f.passed, f.failed, f.skipped]),
        [[REAL_SERVER_FILE, 0, 0, 0]],
        'excluded by default: nothing ran, nothing was even skipped'
      );
      assert.doesNotMatch(fs.readFileSync(path.join(outputDir, 'pester-junit.xml'), 'utf8'), /does not run here/);

      const asked = await runPowerShellTests({
        required: true,
        files: [REAL_SERVER_FILE],
        tags: ['RealServer', 'RealServerApply'],
        outputDir,
      });
      assert.ok(asked.ok, 'a refusal is a skip, not a failure');
      assert.deepEqual(
        asked.totals?.files.map((f) => [f.passed, f.failed, f.skipped]),
        [[0, 0, 2]],
        'one skipped test per part (plan, apply), nothing run'
      );
      const junit = fs.readFileSync(path.join(outputDir, 'pester-junit.xml'), 'utf8');
      const skipped = [...junit.matchAll(/<testcase [^>]*name="([^"]*does not run here[^"]*)"/g)].map((m) => m[1]);
      assert.equal(skipped.length, 2, junit);
      for (const name of skipped) assert.ok(name.includes(NOT_WINDOWS) && name.includes('nothing was run'), name);
    } finally {
      fs.rmSync(outputDir, { recursive: true, force: true });
    }
  });
});
