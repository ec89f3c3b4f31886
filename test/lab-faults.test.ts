/** Injected faults reach the product as ScriptFailures of the right failure type. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { FleetSpec } from '../domain/fleet';
import type { StepId } from '../domain/steps';
import type { LabEstate } from '../lab/estate';
import { LabRunner } from '../lab/lab-runner';
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

function setup(profile: ProfileName = 'fresh'): { spec: FleetSpec; estate: LabEstate; runner: LabRunner } {
  const spec = fleet([FQDN]);
  const estate = estateFor(spec, { [FQDN]: profile });
  return { spec, estate, runner: new LabRunner(estate) };
}

const INJECTED: Array<{ type: string; code: string; step: StepId }> = [
  { type: 'AccessDenied', code: '5', step: 'grantRemoteManagement' },
  { type: 'CredentialsRejected', code: '1326', step: 'preflight' },
  { type: 'WinRMUnavailable', code: '0x80338012', step: 'preflight' },
  { type: 'ConnectionDropped', code: '995', step: 'enableRemoting' },
  { type: 'ShellQuotaExceeded', code: 'ShellQuota', step: 'setCbtHardening' },
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
      assert.equal(err.detail.code, f.code);
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
    const { spec, estate, runner } = setup();
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
    const { spec, estate, runner } = setup('drops-connection');
    const err = await failureOf(runner.run(callFor(spec, 'setCbtHardening', 'apply')));
    assert.equal(err.kind.type, 'ConnectionDropped');
    assert.equal(estate.host(FQDN).cbt.level, 'None');
    assert.equal((await runner.run(callFor(spec, 'setCbtHardening', 'apply'))).changed, false);
  });

  void it('real failures: GPO-owned CBT, unknown computer', async () => {
    const gpo = setup('gpo-cbt');
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
});
