import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { inspect } from 'node:util';
import { classifyCode, FAILURE_KINDS } from '../domain/failures';
import type { ScriptCall } from '../domain/scripts';
import { LabEstate } from '../lab/estate';
import { buildCommand, decodeRequest } from '../powershell/command';
import { readServiceAccountCredential, readServiceCredential, ServiceCredential } from '../powershell/credentials';
import { NodePowerShellRunner, type NodePowerShellRunnerOptions } from '../powershell/node-powershell-runner';
import { standaloneScript } from '../powershell/script-text';
import { codeFromStderr } from '../powershell/stderr-codes';
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

void describe("the acceptance test acts as Monosync's service account", () => {
  const call = (script: ScriptCall['script'], params: ScriptCall['params']): ScriptCall => ({
    script,
    mode: 'plan',
    params,
    target: { host: 'worker', onBehalfOf: FQDN },
  });
  const acceptance = call('Test-MonosyncConnectivity', {
    Fqdn: FQDN,
    ServiceAccount: 'CORP\\monosync_svc',
    Domain: 'corp.example',
    CheckSecondHop: true,
  });

  void it('reads FLEET_SERVICE_ACCOUNT_* from the worker (a password file), apart from the onboarding admin', () => {
    assert.equal(readServiceAccountCredential({ FLEET_ADMIN_USER: 'CORP\\admin', FLEET_ADMIN_PASSWORD: 'x' }), null);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ps-cred-'));
    try {
      const file = path.join(dir, 'secret');
      fs.writeFileSync(file, `${PASSWORD}\n`);
      const cred = readServiceAccountCredential({
        FLEET_SERVICE_ACCOUNT_USER: 'CORP\\monosync_svc',
        FLEET_SERVICE_ACCOUNT_PASSWORD_FILE: file,
      });
      assert.equal(cred?.user, 'CORP\\monosync_svc');
      assert.equal(cred?.revealPassword(), PASSWORD);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
    assert.throws(
      () => readServiceAccountCredential({ FLEET_SERVICE_ACCOUNT_USER: 'CORP\\monosync_svc' }),
      /FLEET_SERVICE_ACCOUNT_PASSWORD/
    );
  });

  void it('passes the credential to the acceptance script only, as -ServiceCredential from the session, never as text', () => {
    const options = { useCredential: true, useServiceAccountCredential: true, timeoutMs: 60_000 };
    const command = buildCommand(acceptance, options);
    assert.match(
      command,
      /-RequestBase64 '[A-Za-z0-9+/=]+' -ServiceCredential \$global:MonosyncServiceAccountCredential \}$/
    );
    assert.match(
      command,
      /Remove-Item -LiteralPath 'Env:MONOSYNC_SERVICE_ACCOUNT_PASSWORD', 'Env:MONOSYNC_SERVICE_ACCOUNT_USER'/
    );
    const request = /-RequestBase64 '([A-Za-z0-9+/=]+)'/.exec(command)?.[1] ?? '';
    assert.deepEqual(Object.keys(decodeRequest(request).params).sort(), [
      'CheckSecondHop',
      'Domain',
      'Fqdn',
      'ServiceAccount',
    ]);
    const snapshot = buildCommand(call('Set-TrustedHosts', { Fqdn: FQDN }), options);
    assert.doesNotMatch(snapshot, /-ServiceCredential/);
    assert.doesNotMatch(
      buildCommand(acceptance, { ...options, useServiceAccountCredential: false }),
      /ServiceCredential|MONOSYNC_SERVICE_ACCOUNT/
    );
  });
});

/** NormalView error records as Windows PowerShell prints them for Invoke-Command (en-US unless said). */
const record = (message: string, errorId: string, category = 'OpenError') =>
  [
    `[exch01.corp.example] Connecting to remote server exch01.corp.example failed with the following error message : ${message} For more information, see the about_Remote_Troubleshooting Help topic.`,
    `    + CategoryInfo          : ${category}: (exch01.corp.example:String) [], PSRemotingTransportException`,
    `    + FullyQualifiedErrorId : ${errorId},PSSessionStateBroken`,
  ].join('\r\n');

const WINDOWS_RECORDS: Array<{ case: string; text: string; code: string; type: string; retry: string }> = [
  {
    case: 'WinRM not answering (restarting, stopped): CannotConnect',
    text: record(
      'The client cannot connect to the destination specified in the request. Verify that the service on the destination is running and is accepting requests.',
      'CannotConnect'
    ),
    code: '0x80338012',
    type: 'WinRMUnavailable',
    retry: 'transient',
  },
  {
    case: 'the host unreachable: the transport ErrorCode as a signed number',
    text: record(
      'WinRM cannot complete the operation. Verify that the specified computer name is valid, that the computer is accessible over the network, and that a firewall exception for the WinRM service is enabled and allows access from this computer.',
      '-2144108250'
    ),
    code: '0x80338126',
    type: 'WinRMUnavailable',
    retry: 'transient',
  },
  {
    case: 'Kerberos: the target principal name is incorrect (a duplicate SPN)',
    text: record(
      'WinRM cannot process the request. The following error with errorcode 0x80090322 occurred while using Kerberos authentication: An unknown security error occurred.',
      '-2146893022'
    ),
    code: '0x80090322',
    type: 'KerberosTargetMismatch',
    retry: 'permanent',
  },
  {
    case: 'Kerberos cannot reach a server outside the domain',
    text: record(
      'WinRM cannot process the request. The following error occurred while using Kerberos authentication: Cannot find the computer edge01.corp.example. Verify that the computer exists on the network and that the name provided is spelled correctly.',
      'NetworkPathNotFound'
    ),
    code: 'KerberosUnreachable',
    type: 'KerberosUnreachable',
    retry: 'permanent',
  },
  {
    case: 'access denied on a German server: the error id keeps the code',
    text: record('Zugriff verweigert', 'AccessDenied'),
    code: '5',
    type: 'AccessDenied',
    retry: 'auth',
  },
  {
    case: 'access denied as an HRESULT in the text',
    text: 'Set-Item : Access is denied. (Exception from HRESULT: 0x80070005 (E_ACCESSDENIED))',
    code: '5',
    type: 'AccessDenied',
    retry: 'auth',
  },
  {
    case: 'winrm quickconfig on a Public network profile (0x80338169 is configuration)',
    text: 'WSManFault\r\n    Message = WinRM firewall exception will not work since one of the network connection types on this machine is set to Public.\r\nError number:  -2144108183 0x80338169',
    code: '0x80338169',
    type: 'PublicNetworkProfile',
    retry: 'permanent',
  },
  {
    case: 'a WinRM code the table does not list is not retried blindly',
    text: 'Error number:  -2144108284 0x80338104 The WS-Management service cannot process the request.',
    code: '0x80338104',
    type: 'PowerShellError',
    retry: 'permanent',
  },
  {
    case: 'the session broke while the script ran (WinRM restarted)',
    text: [
      '[exch01.corp.example] Processing data from remote server exch01.corp.example failed with the following error message: The I/O operation has been aborted because of either a thread exit or an application request. For more information, see the about_Remote_Troubleshooting Help topic.',
      '    + CategoryInfo          : OperationStopped: (exch01.corp.example:String) [], PSRemotingTransportException',
      '    + FullyQualifiedErrorId : JobFailure,PSSessionStateBroken',
    ].join('\r\n'),
    code: '995',
    type: 'ConnectionDropped',
    retry: 'transient',
  },
  {
    case: 'a Broken session with nothing more specific (a lost transport, as 995)',
    text: 'Invoke-Command : The session state is Broken, which is not valid for this operation.\r\n    + FullyQualifiedErrorId : PSSessionStateBroken',
    code: '995',
    type: 'ConnectionDropped',
    retry: 'transient',
  },
  {
    case: 'the shell quota of the user exceeded',
    text: record(
      'This user is allowed a maximum number of 5 concurrent shells, which has been exceeded.',
      '-2144108123'
    ),
    code: '0x803381A5',
    type: 'ShellQuotaExceeded',
    retry: 'transient',
  },
];

void describe('codeFromStderr reads the error records Windows prints', () => {
  for (const r of WINDOWS_RECORDS) {
    void it(`${r.case} -> ${r.code} (${r.type}, ${r.retry})`, () => {
      const code = codeFromStderr(r.text);
      assert.equal(code, r.code);
      const kind = classifyCode(code);
      assert.equal(kind.type, r.type);
      assert.equal(kind.retry, r.retry);
    });
  }

  void it('lists, for every failure type that matches Windows text, that text in the failure table', () => {
    for (const kind of FAILURE_KINDS) {
      for (const text of 'windowsText' in kind ? kind.windowsText : []) {
        assert.equal(classifyCode(codeFromStderr(`Some-Cmdlet : ${text}`)).type, kind.type, text);
      }
    }
  });
});
