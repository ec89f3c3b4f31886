import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { inspect } from 'node:util';
import type { ScriptCall } from '../domain/scripts';
import { LabEstate } from '../lab/estate';
import { readServiceCredential, ServiceCredential } from '../powershell/credentials';
import { NodePowerShellRunner, type NodePowerShellRunnerOptions } from '../powershell/node-powershell-runner';
import { standaloneScript } from '../powershell/script-text';
import { ScriptFailure } from '../runner/port';

const FAKE_PWSH = path.join(__dirname, 'fixtures', 'fake-pwsh', 'pwsh');
const FQDN = 'exch01.corp.example';
const PASSWORD = 'Pa55-w0rd-never-in-text';

const grant = (mode: ScriptCall['mode']): ScriptCall => ({
  script: 'Grant-RemoteManagement',
  mode,
  params: { Member: 'CORP\\monosync_svc' },
  target: { host: 'exchange', fqdn: FQDN },
});
const enableRemoting: ScriptCall = {
  script: 'Enable-Remoting',
  mode: 'plan',
  params: {},
  target: { host: 'exchange', fqdn: FQDN },
};

async function rejectsWith(promise: Promise<unknown>, type: string): Promise<ScriptFailure> {
  try {
    await promise;
  } catch (err) {
    assert.ok(err instanceof ScriptFailure, `expected a ScriptFailure, got ${String(err)}`);
    assert.equal(err.kind.type, type, err.message);
    return err;
  }
  assert.fail(`expected a ${type} failure`);
}

void describe('NodePowerShellRunner over node-powershell and the fake pwsh', () => {
  let dir: string;
  let stateFile: string;
  const runners: NodePowerShellRunner[] = [];
  const commands: string[] = [];
  const previous = process.env.NODE_POWERSHELL;

  const runner = (options: Partial<NodePowerShellRunnerOptions> = {}, env: NodeJS.ProcessEnv = {}) => {
    const created = new NodePowerShellRunner({
      credentials: new ServiceCredential('CORP\\onboard_admin', PASSWORD),
      env: { ...process.env, LAB_STATE_FILE: stateFile, ...env },
      timeoutMs: 20_000,
      poolSize: 2,
      onCommand: (c) => commands.push(c),
      ...options,
    });
    runners.push(created);
    return created;
  };
  const editLab = (edit: (estate: LabEstate) => void) => {
    const estate = LabEstate.load(stateFile);
    edit(estate);
    estate.save(stateFile);
  };

  before(() => {
    process.env.NODE_POWERSHELL = FAKE_PWSH;
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ps-runner-'));
    stateFile = path.join(dir, 'estate.json');
    LabEstate.create({ seed: 7 }).save(stateFile);
  });

  after(async () => {
    await Promise.all(runners.map((r) => r.close()));
    if (previous === undefined) delete process.env.NODE_POWERSHELL;
    else process.env.NODE_POWERSHELL = previous;
    fs.rmSync(dir, { recursive: true, force: true });
  });

  void it('applies a change once; the second apply finds it made', async () => {
    const r = runner();
    const plan = await r.run(grant('plan'));
    assert.equal(plan.changed, true);
    const first = await r.run(grant('apply'));
    assert.equal(first.ok, true);
    assert.equal(first.changed, true);
    assert.equal((first.after as { member: boolean }).member, true);
    const members = LabEstate.load(stateFile).host(FQDN).remoteManagementUsers.members;
    assert.ok(members.some((m) => m.account.toLowerCase().includes('monosync_svc')));
    const second = await r.run(grant('apply'));
    assert.equal(second.changed, false);
    assert.equal(second.compliant, true);
  });

  void it('sends each script as its standalone text, the one `fleet script` writes', () => {
    assert.ok(commands.length > 0);
    for (const command of commands) {
      const block = /FromBase64String\('([A-Za-z0-9+/=]+)'\)/.exec(command);
      assert.ok(block, 'the command carries the script as base64');
      assert.equal(Buffer.from(block[1], 'base64').toString('utf8'), standaloneScript('Grant-RemoteManagement'));
      assert.match(command, /-ScriptBlock \$sb -ArgumentList '[A-Za-z0-9+/=]+' \}$/);
    }
  });

  void it('never puts the password in a command', () => {
    assert.ok(commands.length > 0);
    for (const command of commands) {
      assert.ok(!command.includes(PASSWORD));
      assert.match(command, /-Credential \$cred/);
    }
  });

  void it('turns an error record on stderr into PowerShellError with its text', async () => {
    const r = runner({}, { FAKE_PWSH_STDERR: 'Get-Thing : something odd happened' });
    const failure = await rejectsWith(r.run(enableRemoting), 'PowerShellError');
    assert.match(failure.message, /something odd happened/);
  });

  void it('maps a known code in stderr text', async () => {
    const r = runner({}, { FAKE_PWSH_STDERR: 'Connecting to remote server exch01 failed: Access is denied.' });
    await rejectsWith(r.run(enableRemoting), 'AccessDenied');
  });

  void it('classifies a lab fault by its code', async () => {
    const r = runner();
    editLab((e) => e.injectFault({ kind: 'error', code: '0x80338012', script: 'Enable-Remoting', times: 1 }));
    await rejectsWith(r.run(enableRemoting), 'WinRMUnavailable');
    const next = await r.run(enableRemoting);
    assert.equal(next.ok, true);
  });

  void it('rejects invalid input before any session runs it', async () => {
    const r = runner();
    const before = commands.length;
    await rejectsWith(r.run({ ...grant('apply'), params: { Member: "x'; Remove-Item C:\\" } }), 'InvalidInput');
    assert.equal(commands.length, before);
  });

  void it('times out a hung call, replaces the session, and keeps working', async () => {
    const r = runner({ timeoutMs: 1500, poolSize: 1 });
    await r.run(enableRemoting);
    editLab((e) => e.injectFault({ kind: 'hang', script: 'Enable-Remoting', times: 1 }));
    const started = Date.now();
    await rejectsWith(r.run(enableRemoting), 'WinRMTimeout');
    assert.ok(Date.now() - started < 10_000);
    const again = await r.run(enableRemoting);
    assert.equal(again.ok, true);
  });
});

void describe('readServiceCredential', () => {
  void it('uses the worker identity when nothing is set', () => {
    assert.equal(readServiceCredential({}), null);
  });

  void it('reads a password file, trimmed, and never shows the password', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ps-cred-'));
    try {
      const file = path.join(dir, 'secret');
      fs.writeFileSync(file, `${PASSWORD}\n`);
      const cred = readServiceCredential({ FLEET_ADMIN_USER: 'CORP\\svc', FLEET_ADMIN_PASSWORD_FILE: file });
      assert.ok(cred);
      assert.equal(cred.revealPassword(), PASSWORD);
      for (const shown of [JSON.stringify(cred), String(cred), inspect(cred), inspect({ cred })]) {
        assert.ok(!shown.includes(PASSWORD), shown);
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  void it('names the variable that is wrong', () => {
    assert.throws(() => readServiceCredential({ FLEET_ADMIN_USER: 'CORP\\svc' }), /FLEET_ADMIN_PASSWORD/);
    assert.throws(() => readServiceCredential({ FLEET_ADMIN_PASSWORD: 'x' }), /FLEET_ADMIN_USER/);
    assert.throws(
      () => readServiceCredential({ FLEET_ADMIN_USER: 'CORP\\svc', FLEET_ADMIN_PASSWORD_FILE: '/nonexistent/x' }),
      /FLEET_ADMIN_PASSWORD_FILE.*ENOENT/
    );
    assert.throws(
      () => readServiceCredential({ FLEET_ADMIN_USER: "a'b", FLEET_ADMIN_PASSWORD: 'x' }),
      /FLEET_ADMIN_USER/
    );
  });
});
