/** `fleet script`: the standalone script of a step, run as a process; it needs no Temporal. */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { STEP_IDS } from '../domain/steps';
import { standaloneScript } from '../powershell/script-text';
import { runCli } from './support/cli';

/** Nothing listens there: a command that tried to reach Temporal would fail. */
const NO_TEMPORAL: NodeJS.ProcessEnv = { TEMPORAL_ADDRESS: '127.0.0.1:9' };

void describe('fleet script', () => {
  let dir: string;
  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fleet-script-'));
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  void it('writes the standalone script of a step named by its id to --out', async () => {
    const out = path.join(dir, 'listener.ps1');
    const r = await runCli(['script', 'ensureHttpsListener', '--out', out], NO_TEMPORAL);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(fs.readFileSync(out, 'utf8'), standaloneScript('Set-HttpsListener'));
    assert.match(r.stdout, /wrote .*listener\.ps1/);
  });

  void it('prints the script of a step named by its script name to stdout', async () => {
    const r = await runCli(['script', 'Set-TrustedHosts'], NO_TEMPORAL);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, standaloneScript('Set-TrustedHosts'));
  });

  void it('exits 2 for an unknown step and lists the valid names', async () => {
    const r = await runCli(['script', 'Set-Everything', '--out', path.join(dir, 'nothing.ps1')], NO_TEMPORAL);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /unknown step "Set-Everything"/);
    for (const id of STEP_IDS) assert.match(r.stderr, new RegExp(`\\b${id}\\b`));
    assert.match(r.stderr, /Set-HttpsListener/);
    assert.equal(fs.existsSync(path.join(dir, 'nothing.ps1')), false);
  });
});
