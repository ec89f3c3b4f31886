/**
 * The step activities themselves (check → approval gate → change → verify → roll back) on the lab,
 * in a real activity context: what they return, what they change in the lab, and how their failures
 * reach Temporal's retry policy.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ApplicationFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { createActivities } from '../activities';
import { contextOf, type StepOutcome, type StepRequest } from '../domain/onboarding';
import { CHANGE_STEPS, type StepId } from '../domain/steps';
import { LabRunner } from '../lab/lab-runner';
import type { ProfileName } from '../lab/profiles';
import { estateFor, fleet, world } from './lab-fixtures';

const FQDN = 'exch01.corp.example';
/** The profile on which each change step has something to do. */
const PROFILE_FOR: Partial<Record<StepId, ProfileName>> = { enableRemoting: 'winrm-stopped' };
/**
 * The policy under which each change step has something to do. CBT None and TrustedHosts '*' are not
 * the defaults (they weaken security): asked for explicitly, so the approval gate is exercised too.
 */
const POLICY_FOR: Partial<Record<StepId, Record<string, unknown>>> = {
  setCbtHardening: { cbtHardeningLevel: 'None' },
  setTrustedHosts: { trustedHosts: { applyOn: 'exchange', value: 'any' } },
};
/** Steps that the catalogue runs first because this one depends on them (the listener is verified over 5986). */
const PREPARE: Partial<Record<StepId, StepId[]>> = { ensureHttpsListener: ['openFirewall'] };

function setUp(profile: ProfileName, policy: Record<string, unknown> = {}) {
  const spec = fleet([FQDN], policy);
  const estate = estateFor(spec, { [FQDN]: profile });
  const activities = createActivities(new LabRunner(estate));
  const request = (mode: 'plan' | 'apply', approved?: StepOutcome['change']): StepRequest => ({
    fleetId: spec.fleetId,
    server: spec.servers[0],
    context: contextOf(spec),
    mode,
    ...(approved ? { approvedChange: { id: approved.id, to: approved.to } } : {}),
  });
  const run = (step: StepId, req: StepRequest, attempt = 1): Promise<StepOutcome> =>
    new MockActivityEnvironment({ attempt }).run(activities[step], req);
  return { spec, estate, request, run };
}

async function failureOf(promise: Promise<unknown>): Promise<ApplicationFailure> {
  try {
    await promise;
  } catch (err) {
    assert.ok(err instanceof ApplicationFailure, `expected an ApplicationFailure, got ${String(err)}`);
    return err;
  }
  assert.fail('expected the activity to fail');
}

describe('every change step as an activity', () => {
  for (const step of CHANGE_STEPS) {
    it(`${step}: plan predicts and changes nothing, apply changes exactly that, a second apply changes nothing`, async () => {
      const { estate, request, run } = setUp(PROFILE_FOR[step] ?? 'fresh', POLICY_FOR[step]);
      for (const earlier of PREPARE[step] ?? []) await run(earlier, request('apply'));
      const pristine = world(estate, FQDN);

      const plan = await run(step, request('plan'));
      assert.equal(plan.status, 'would-change');
      assert.equal(plan.changed, false);
      assert.deepEqual(world(estate, FQDN), pristine, 'plan mode changed the lab');

      // The manual's risky values need a person's approval first: without it nothing happens.
      const gated = await run(step, request('apply'));
      if (plan.change) {
        assert.equal(gated.status, 'approval-required');
        assert.equal(gated.change?.id, plan.change.id);
        assert.deepEqual(world(estate, FQDN), pristine, 'an unapproved risky change was applied');
      }
      const applied = plan.change ? await run(step, request('apply', plan.change)) : gated;
      assert.equal(applied.status, 'changed');
      assert.equal(applied.changed, true);
      assert.deepEqual(applied.before, plan.before);
      assert.deepEqual(applied.after, plan.after, 'the real run differs from the plan');
      assert.equal(
        new Set(applied.warnings).size,
        applied.warnings.length,
        `a warning twice: ${applied.warnings.join(' | ')}`
      );
      const changed = world(estate, FQDN);
      assert.notDeepEqual(changed, pristine, 'apply reported a change the lab does not show');

      const again = await run(step, request('apply', plan.change));
      assert.equal(again.status, 'compliant');
      assert.equal(again.changed, false);
      assert.deepEqual(world(estate, FQDN), changed, 'the second apply changed the lab');
    });
  }

  it('read-only steps never change the lab', async () => {
    const { estate, request, run } = setUp('fresh');
    const pristine = world(estate, FQDN);
    const snapshot = await run('preflight', request('apply'));
    assert.equal(snapshot.changed, false);
    const acceptance = await run('verifyConnectivity', request('apply'));
    assert.equal(acceptance.changed, false);
    assert.deepEqual(world(estate, FQDN), pristine);
  });
});

describe('steps that can cut their own connection', () => {
  it('a dropped session after the change is reconnected and verified', async () => {
    const { estate, request, run } = setUp('drops-connection', { cbtHardeningLevel: 'Strict' });
    const outcome = await run('setCbtHardening', request('apply'));
    assert.equal(outcome.status, 'changed');
    assert.equal(estate.host(FQDN).cbt.level, 'Strict');
  });

  it('a listener that fails the fresh TLS check is rolled back to the old thumbprint', async () => {
    const { estate, request, run } = setUp('expiring-cert');
    const old = estate.host(FQDN).listeners.find((l) => l.transport === 'HTTPS')?.thumbprint;
    assert.ok(old);
    estate.injectFault({ kind: 'tls-verify-fails', host: FQDN });
    const failure = await failureOf(run('ensureHttpsListener', request('apply')));
    assert.equal(failure.type, 'VerificationFailed');
    assert.equal(failure.nonRetryable, true);
    assert.match(failure.message, /rolled back/);
    assert.equal(estate.host(FQDN).listeners.find((l) => l.transport === 'HTTPS')?.thumbprint, old);
  });
});

describe('failures reach Temporal with the right retry behaviour', () => {
  it('access denied is retried once, then permanent (account lockout)', async () => {
    const { estate, request, run } = setUp('fresh');
    estate.injectFault({ kind: 'error', code: '5', host: FQDN });
    const first = await failureOf(run('grantRemoteManagement', request('apply'), 1));
    assert.equal(first.type, 'AccessDenied');
    assert.equal(first.nonRetryable, false);
    const second = await failureOf(run('grantRemoteManagement', request('apply'), 2));
    assert.equal(second.nonRetryable, true);
  });

  it('WinRM unavailable stays retryable; AD object not found is permanent', async () => {
    const { estate, request, run } = setUp('fresh');
    estate.injectFault({ kind: 'error', code: '0x80338012', host: FQDN, times: 1 });
    const transient = await failureOf(run('enableRemoting', request('apply'), 5));
    assert.equal(transient.type, 'WinRMUnavailable');
    assert.equal(transient.nonRetryable, false);
    estate.injectFault({ kind: 'error', code: 'ADIdentityNotFound', script: 'Enable-KerberosDelegation' });
    const permanent = await failureOf(run('enableKerberosDelegation', request('plan')));
    assert.equal(permanent.type, 'ADObjectNotFound');
    assert.equal(permanent.nonRetryable, true);
  });
});
