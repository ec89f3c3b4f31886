/** Injected faults reach the product as ScriptFailures of the right failure type. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { FleetSpec } from '../domain/fleet';
import type { StepId } from '../domain/steps';
import type { LabEstate } from '../lab/estate';
import { NON_RETRYABLE_TYPES } from '../domain/failures';
import { LabRunner } from '../lab/lab-runner';
import { TRANSPORT_SCENARIOS } from '../lab/scenarios';
import type { SessionText } from '../lab/session-text';
import type { ProfileName } from '../lab/profiles';
import { ScriptFailure } from '../runner/port';
import { callFor, estateFor, fleet, world } from './lab-fixtures';

const FQDN = 'exch01.corp.example';

async function failureOf(promise: Promise<unknown>): Promise<ScriptFailure> {
  try {
    await promise;
  } catch (err) {
    assert.ok(err instanceof ScriptFailure, String(err));
    return err;
  }
  assert.fail('expected a ScriptFailure');
}

/** CBT None: the one CBT level that changes a fresh host (Relaxed is Windows' default and the policy's). */
const CBT_NONE = { cbtHardeningLevel: 'None' };

function setup(
  profile: ProfileName = 'fresh',
  policy: Record<string, unknown> = {}
): { spec: FleetSpec; estate: LabEstate; runner: LabRunner } {
  const spec = fleet([FQDN], policy);
  const estate = estateFor(spec, { [FQDN]: profile });
  return { spec, estate, runner: new LabRunner(estate) };
}

/**
 * `reads`: the code the runner reads back from the error record Windows prints for a transport failure
 * (the FullyQualifiedErrorId's number), where it differs from the lab's name for the fault.
 */
const INJECTED: Array<{ type: string; code: string; step: StepId; reads?: string }> = [
  { type: 'AccessDenied', code: '5', step: 'grantRemoteManagement' },
  { type: 'CredentialsRejected', code: '1326', step: 'preflight' },
  { type: 'WinRMUnavailable', code: '0x80338012', step: 'preflight' },
  { type: 'ConnectionDropped', code: '995', step: 'enableRemoting' },
  { type: 'ShellQuotaExceeded', code: 'ShellQuota', step: 'setCbtHardening', reads: '0x803381A5' },
  { type: 'KerberosTargetMismatch', code: '0x80090322', step: 'preflight' },
  { type: 'KerberosUnreachable', code: 'KerberosUnreachable', step: 'preflight' },
  { type: 'ADObjectNotFound', code: 'ADIdentityNotFound', step: 'enableKerberosDelegation' },
  { type: 'ADInsufficientRights', code: '8344', step: 'enableKerberosDelegation' },
  { type: 'ADServerDown', code: 'ADServerDown', step: 'enableKerberosDelegation' },
  { type: 'ADModuleMissing', code: 'ModuleMissing', step: 'enableKerberosDelegation' },
  { type: 'CertificateNoPrivateKey', code: 'CertNoPrivateKey', step: 'ensureHttpsListener' },
  { type: 'CertificateNameMismatch', code: '0x803380E9', step: 'ensureHttpsListener' },
  { type: 'CertificateExpired', code: 'CertExpired', step: 'ensureHttpsListener' },
  { type: 'ListenerAlreadyExists', code: '0x80338033', step: 'ensureHttpsListener' },
  { type: 'FirewallBlocked', code: 'FirewallBlocked', step: 'verifyConnectivity' },
  { type: 'PolicyControlled', code: 'PolicyControlled', step: 'setTrustedHosts' },
];

void describe('lab faults', () => {
  for (const f of INJECTED) {
    void it(`${f.code} on ${f.step} is a ${f.type}`, async () => {
      const { spec, estate, runner } = setup();
      estate.injectFault({ kind: 'error', code: f.code, host: FQDN, times: 1 });
      const original = world(estate, FQDN);
      const err = await failureOf(runner.run(callFor(spec, f.step, 'apply')));
      assert.equal(err.kind.type, f.type);
      assert.equal(err.detail.code, f.reads ?? f.code);
      assert.deepEqual(world(estate, FQDN), original, 'a fault before the change changes nothing');
      const script = (await runner.run(callFor(spec, f.step, 'plan'))).script;
      assert.deepEqual(estate.counters(FQDN)[script], { calls: 2, changes: 0, faults: 1 }, 'times: 1 fires once');
    });
  }

  void it('a hang with a delay becomes a WinRMTimeout', async () => {
    const { spec, estate, runner } = setup();
    estate.injectFault({ kind: 'hang', delayMs: 20, host: FQDN, script: 'Get-OnboardingSnapshot' });
    const err = await failureOf(runner.run(callFor(spec, 'preflight', 'plan')));
    assert.equal(err.kind.type, 'WinRMTimeout');
    assert.equal(err.detail.code, '0x80338029', 'read from the error record, FullyQualifiedErrorId -2144108503');
    assert.match(err.message, /within the time specified in OperationTimeout/);
  });

  void it('a hang without a delay ends when the runner closes', async () => {
    const { spec, estate, runner } = setup();
    estate.injectFault({ kind: 'hang', host: FQDN });
    const pending = failureOf(runner.run(callFor(spec, 'preflight', 'plan')));
    await new Promise((r) => setTimeout(r, 10));
    await runner.close();
    assert.equal((await pending).kind.type, 'WinRMTimeout');
  });

  void it('after-change: the change is made, then the call fails', async () => {
    const { spec, estate, runner } = setup('fresh', CBT_NONE);
    estate.injectFault({
      kind: 'error',
      code: '0x80338126',
      when: 'after-change',
      script: 'Set-CbtHardening',
      mode: 'apply',
    });
    const err = await failureOf(runner.run(callFor(spec, 'setCbtHardening', 'apply')));
    assert.equal(err.kind.type, 'WinRMUnavailable');
    assert.equal(estate.host(FQDN).cbt.level, 'None');
    assert.equal(estate.counters(FQDN)['Set-CbtHardening']?.changes, 1);
  });

  void it('a host that drops the connection on restart changes state and then reports 995', async () => {
    const { spec, estate, runner } = setup('drops-connection', CBT_NONE);
    const err = await failureOf(runner.run(callFor(spec, 'setCbtHardening', 'apply')));
    assert.equal(err.kind.type, 'ConnectionDropped');
    assert.equal(estate.host(FQDN).cbt.level, 'None');
    assert.equal((await runner.run(callFor(spec, 'setCbtHardening', 'apply'))).changed, false);
  });

  void it('real failures: GPO-owned CBT, unknown computer', async () => {
    const gpo = setup('gpo-cbt', CBT_NONE);
    assert.equal(
      (await failureOf(gpo.runner.run(callFor(gpo.spec, 'setCbtHardening', 'plan')))).kind.type,
      'PolicyControlled'
    );
    const other = fleet(['ghost.corp.example']);
    const estate = estateFor(other, { 'ghost.corp.example': 'edge' });
    const err = await failureOf(new LabRunner(estate).run(callFor(other, 'enableKerberosDelegation', 'plan')));
    assert.equal(err.kind.type, 'ADObjectNotFound');
  });

  void it('tls-verify-fails only breaks the acceptance test', async () => {
    const { spec, estate, runner } = setup('onboarded');
    estate.injectFault({ kind: 'tls-verify-fails', host: FQDN });
    const plan = await runner.run(callFor(spec, 'ensureHttpsListener', 'plan'));
    assert.equal(plan.changed, false);
    const check = await runner.run(callFor(spec, 'verifyConnectivity', 'plan'));
    assert.equal((check.after as { wsmanHttps: boolean }).wsmanHttps, false);
    assert.equal(check.changed, true);
    estate.clearFaults();
    const ok = await runner.run(callFor(spec, 'verifyConnectivity', 'plan'));
    assert.equal((ok.after as { wsmanHttps: boolean }).wsmanHttps, true);
  });

  void it('probability draws from the seeded generator: the same seed fails the same calls', async () => {
    const outcomes = async () => {
      const { spec, estate, runner } = setup();
      estate.injectFault({ kind: 'error', code: '0x80338012', probability: 0.5 });
      const results: boolean[] = [];
      for (let i = 0; i < 20; i++) {
        results.push(
          await runner.run(callFor(spec, 'preflight', 'plan')).then(
            () => true,
            () => false
          )
        );
      }
      return results;
    };
    const first = await outcomes();
    assert.deepEqual(await outcomes(), first);
    assert.ok(first.includes(true) && first.includes(false));
  });

  void it('a call WinRM refuses reaches the runner as the error record Windows prints, and is classified from that text', async () => {
    const { spec, estate } = setup();
    const printed: SessionText[] = [];
    const runner = new LabRunner(estate, { onSessionText: (text) => printed.push(text) });
    estate.injectFault({ kind: 'error', code: '0x80338012', host: FQDN, times: 1 });
    const err = await failureOf(runner.run(callFor(spec, 'preflight', 'plan')));
    assert.equal(printed.length, 1);
    assert.equal(printed[0].stdout, '', 'no envelope: the script never ran');
    assert.match(
      printed[0].stderr,
      /^\[exch01\.corp\.example\] Connecting to remote server exch01\.corp\.example failed with the following error message : The client cannot connect to the destination specified in the request\./
    );
    assert.match(printed[0].stderr, /\+ FullyQualifiedErrorId : CannotConnect,PSSessionStateBroken/);
    assert.equal(err.kind.type, 'WinRMUnavailable');
    assert.equal(err.kind.retry, 'transient', 'a host restarting WinRM is retried');
    assert.match(err.message, /The client cannot connect to the destination/);
  });

  void it('an Edge or workgroup server Kerberos cannot reach: permanent, with the message Windows gives and what to do', async () => {
    const { spec, estate, runner } = setup();
    TRANSPORT_SCENARIOS.kerberosUnreachable(estate, FQDN);
    for (const step of ['preflight', 'enableRemoting', 'grantRemoteManagement'] as const) {
      const err = await failureOf(runner.run(callFor(spec, step, 'plan')));
      assert.equal(err.kind.type, 'KerberosUnreachable');
      assert.ok(NON_RETRYABLE_TYPES.includes('KerberosUnreachable'), 'waiting does not put a server in the domain');
      assert.match(
        err.message,
        /occurred while using Kerberos authentication: Cannot find the computer exch01\.corp\.example\./
      );
      assert.match(err.kind.fix, /Edge Transport server stays outside/);
    }
  });

  void it('UAC remote restrictions on a local non-built-in administrator: access denied, reported with LocalAccountTokenFilterPolicy, never changed', async () => {
    const { spec, estate, runner } = setup();
    TRANSPORT_SCENARIOS.uacRemoteRestrictions(estate, FQDN);
    const original = world(estate, FQDN);
    const err = await failureOf(runner.run(callFor(spec, 'grantRemoteManagement', 'apply')));
    assert.equal(err.kind.type, 'AccessDenied');
    assert.equal(err.kind.retry, 'auth', 'retried once, not until the account locks out');
    assert.match(err.message, /failed with the following error message : Access is denied\./);
    assert.match(err.kind.meaning, /UAC remote restrictions/);
    assert.match(err.kind.fix, /LocalAccountTokenFilterPolicy=1, a security decision this product leaves to you/);
    assert.deepEqual(world(estate, FQDN), original, 'nothing on the server changed');
  });
});
