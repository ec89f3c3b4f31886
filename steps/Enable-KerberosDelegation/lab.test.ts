/**
 * Enable-KerberosDelegation against the lab: which AD computer object it finds, on which domain controller
 * it reads and writes, and when it refuses (another host's object, an account that cannot be delegated).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { validateFleet } from '../../domain/fleet';
import { contextOf, scriptCallFor } from '../../domain/onboarding';
import type { ScriptCall } from '../../domain/scripts';
import { LabRunner } from '../../lab/lab-runner';
import { DIRECTORY_SCENARIOS } from '../../lab/scenarios';
import { buildCommand, remoteComputer } from '../../powershell/command';
import { ScriptFailure, type PowerShellRunner } from '../../runner/port';
import { callFor, estateFor, fleet } from '../../test/lab-fixtures';
import { pinDomainController } from './pin-domain-controller';

const FQDN = 'exch01.corp.example';
const STEP = 'enableKerberosDelegation';

async function failureOf(runner: PowerShellRunner, call: ScriptCall): Promise<ScriptFailure> {
  const err: unknown = await runner.run(call).then(
    () => null,
    (e: unknown) => e
  );
  assert.ok(err instanceof ScriptFailure, `expected a ScriptFailure, got ${String(err)}`);
  return err;
}

void describe('Enable-KerberosDelegation in the lab', () => {
  void it('the AD object lives in its own OU and is found by sAMAccountName, case-insensitively', () => {
    const estate = estateFor(fleet([FQDN]));
    const computer = estate.computer('exch01$');
    assert.equal(computer?.distinguishedName, 'CN=EXCH01,OU=Exchange Servers,OU=Servers,DC=corp,DC=example');
    assert.equal(computer?.samAccountName, 'EXCH01$');
  });

  void it('a long host name is joined as its first 15 characters, unless it was joined with a name of its own', async () => {
    const validated = validateFleet({
      fleet: 'lab-test',
      serviceAccount: 'CORP\\monosync_svc',
      monosyncServers: ['10.0.0.10'],
      approvers: ['alice'],
      approvals: 'unsigned',
      servers: [
        'exchange-mailbox-01.corp.example',
        { fqdn: 'exchange-mailbox-02.corp.example', computerName: 'exchmbx02' },
      ],
    });
    assert.ok(validated.ok);
    const spec = validated.spec;
    const estate = estateFor(spec);
    estate.assign(spec.servers[0].fqdn, 'fresh');
    estate.assign(spec.servers[1].fqdn, 'fresh', 'EXCHMBX02');
    assert.equal(spec.servers[0].computerName, 'EXCHANGE-MAILBO');
    assert.equal(estate.computer('EXCHANGE-MAILBO')?.dnsHostName, 'exchange-mailbox-01.corp.example');
    assert.equal(estate.computer('EXCHMBX02')?.dnsHostName, 'exchange-mailbox-02.corp.example');

    const runner = new LabRunner(estate);
    for (const index of [0, 1]) await runner.run(callFor(spec, STEP, 'apply', index));
    assert.equal(estate.computer('EXCHANGE-MAILBO')?.trustedForDelegation, true);
    assert.equal(estate.computer('EXCHMBX02')?.trustedForDelegation, true);
  });

  void it('refuses, changing nothing, when the object of the computer name is another host’s', async () => {
    const spec = fleet([FQDN]);
    const estate = estateFor(spec);
    DIRECTORY_SCENARIOS.computerNameTaken(estate, FQDN, 'exch01.legacy.example');
    const runner = new LabRunner(estate);
    for (const mode of ['plan', 'apply'] as const) {
      const failure = await failureOf(runner, callFor(spec, STEP, mode));
      assert.equal(failure.kind.type, 'ADComputerMismatch');
      assert.match(
        failure.message,
        /EXCH01\$ on dc01\.corp\.example is not the computer object of exch01\.corp\.example \(its DNSHostName is exch01\.legacy\.example\).*computerName:/
      );
    }
    assert.equal(estate.computer('EXCH01')?.trustedForDelegation, false);
  });

  for (const [label, arrange, reason] of [
    [
      'is in Protected Users',
      DIRECTORY_SCENARIOS.serviceAccountProtected,
      /member of Protected Users \(S-1-5-21-[\d-]+-525\)/,
    ],
    [
      'is marked sensitive',
      DIRECTORY_SCENARIOS.serviceAccountNotDelegated,
      /Account is sensitive and cannot be delegated/,
    ],
  ] as const) {
    void it(`refuses to set delegation when Monosync’s account ${label}, and still clears it`, async () => {
      const spec = fleet([FQDN]);
      const estate = estateFor(spec);
      arrange(estate);
      const runner = new LabRunner(estate);
      for (const mode of ['plan', 'apply'] as const) {
        const failure = await failureOf(runner, callFor(spec, STEP, mode));
        assert.equal(failure.kind.type, 'DelegationBlocked');
        assert.match(failure.message, /: delegation cannot work for CORP\\monosync_svc on dc01\.corp\.example: /);
        assert.match(failure.message, reason);
      }
      assert.equal(estate.computer('EXCH01')?.trustedForDelegation, false);

      estate.computer('EXCH01')!.trustedForDelegation = true;
      const clear = {
        ...callFor(spec, STEP, 'apply'),
        params: { ...callFor(spec, STEP, 'apply').params, TrustedForDelegation: false },
      };
      assert.equal((await runner.run(clear)).changed, true);
      assert.equal(estate.computer('EXCH01')?.trustedForDelegation, false);
    });
  }

  void it('two DCs with replication delay: without a pin the verification lands on the DC that has not replicated', async () => {
    const spec = fleet([FQDN]);
    const estate = estateFor(spec);
    DIRECTORY_SCENARIOS.twoDomainControllers(estate);
    const runner = new LabRunner(estate);
    const plan = await runner.run(callFor(spec, STEP, 'plan'));
    assert.equal(plan.evidence.domainController, 'dc01.corp.example');
    const apply = await runner.run(callFor(spec, STEP, 'apply'));
    assert.equal(apply.evidence.domainController, 'dc02.corp.example');
    assert.equal(apply.changed, true);
    const verify = await runner.run(callFor(spec, STEP, 'plan'));
    assert.equal(verify.evidence.domainController, 'dc01.corp.example');
    assert.equal(verify.changed, true, 'dc01 has not replicated the write dc02 took');

    estate.setNow(new Date(estate.now().getTime() + 16 * 60_000));
    const later = await runner.run(callFor(spec, STEP, 'plan'));
    assert.equal(later.evidence.domainController, 'dc02.corp.example');
    const onDc01 = await runner.run(callFor(spec, STEP, 'plan'));
    assert.equal(onDc01.evidence.domainController, 'dc01.corp.example');
    assert.equal(onDc01.compliant, true, 'replicated after the delay');
  });

  void it('two DCs with replication delay: the AD worker’s pin keeps plan, change and verification on the DC it found first', async () => {
    const spec = fleet([FQDN]);
    const estate = estateFor(spec);
    DIRECTORY_SCENARIOS.twoDomainControllers(estate);
    const runner = pinDomainController(new LabRunner(estate));
    const servers: unknown[] = [];
    for (const mode of ['plan', 'apply', 'plan'] as const) {
      const envelope = await runner.run(callFor(spec, STEP, mode));
      servers.push(envelope.evidence.domainController);
      if (mode === 'apply') assert.equal(envelope.changed, true);
      else if (servers.length === 3) assert.equal(envelope.compliant, true);
    }
    assert.deepEqual(servers, ['dc01.corp.example', 'dc01.corp.example', 'dc01.corp.example']);
  });

  void it('the pin gives way to the fleet’s domainController, and is dropped when its DC stops answering', async () => {
    const spec = fleet([FQDN]);
    const estate = estateFor(spec);
    DIRECTORY_SCENARIOS.twoDomainControllers(estate);
    const runner = pinDomainController(new LabRunner(estate));
    assert.equal((await runner.run(callFor(spec, STEP, 'plan'))).evidence.domainController, 'dc01.corp.example');
    const named = scriptCallFor(STEP, 'plan', spec.servers[0], {
      ...contextOf(spec),
      domainController: 'dc02.corp.example',
    });
    assert.equal((await runner.run(named)).evidence.domainController, 'dc02.corp.example');

    estate.injectFault({ kind: 'error', code: 'ADServerDown', script: 'Enable-KerberosDelegation', times: 1 });
    assert.equal((await failureOf(runner, callFor(spec, STEP, 'plan'))).kind.type, 'ADServerDown');
    // Asked again: the locator's next answer.
    assert.equal((await runner.run(callFor(spec, STEP, 'plan'))).evidence.domainController, 'dc02.corp.example');
  });

  void it('an Edge Transport or workgroup server has no computer object: the step changes none, and says so', async () => {
    const spec = fleet(['edge01.corp.example']);
    const estate = estateFor(spec, ['edge']);
    estate.host('edge01.corp.example');
    const failure = await failureOf(new LabRunner(estate), callFor(spec, STEP, 'apply'));
    assert.equal(failure.kind.type, 'ADObjectNotFound');
    assert.match(failure.message, /Cannot find an object with identity: 'EDGE01\$'/);
    assert.equal(estate.computer('EDGE01'), undefined);
  });

  void it('runs in the AD worker’s own PowerShell, never in a session on the DC the fleet names', () => {
    const spec = fleet([FQDN]);
    const call = scriptCallFor(STEP, 'apply', spec.servers[0], {
      ...contextOf(spec),
      domainController: 'dc01.corp.example',
    });
    assert.equal(call.params.DomainController, 'dc01.corp.example');
    assert.equal(remoteComputer(call), null);
    const command = buildCommand(call, { useCredential: true, timeoutMs: 60_000 });
    assert.doesNotMatch(command, /Invoke-Command|New-PSSession/);
  });
});
