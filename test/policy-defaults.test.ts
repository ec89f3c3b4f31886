/**
 * Defaults weaken nothing (issue 11 item 8, item 7's default): a fleet file that leaves the policy out
 * gets CbtHardeningLevel Relaxed, TrustedHosts left alone on the Exchange servers and a firewall rule for
 * the Domain profile; the manual's None and '*' are applied only when asked for, and then need approval.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MockActivityEnvironment } from '@temporalio/testing';
import { validateFleet } from '../domain/fleet';
import { contextOf, stepApplies, type StepOutcome, type StepRequest } from '../domain/onboarding';
import type { StepId } from '../domain/steps';
import { createActivities } from '../activities';
import { LabRunner } from '../lab/lab-runner';
import { estateFor, fleet } from './lab-fixtures';

const FQDN = 'exch01.corp.example';

async function planOf(step: StepId, policy: Record<string, unknown> = {}) {
  const spec = fleet([FQDN], policy);
  const activities = createActivities(new LabRunner(estateFor(spec)));
  const request: StepRequest = {
    fleetId: spec.fleetId,
    server: spec.servers[0],
    context: contextOf(spec),
    mode: 'plan',
  };
  const outcome: StepOutcome = await new MockActivityEnvironment().run(activities[step], request);
  return { spec, outcome };
}

describe('policy defaults', () => {
  it('a fleet file without a policy asks for Relaxed, no TrustedHosts on the servers, and the Domain profile', () => {
    const spec = fleet([FQDN]);
    assert.equal(spec.policy.cbtHardeningLevel, 'Relaxed');
    assert.deepEqual(spec.policy.trustedHosts, { applyOn: 'skip', value: 'this-server' });
    assert.deepEqual(spec.policy.firewall.profiles, ['Domain']);
    assert.equal(stepApplies('setTrustedHosts', contextOf(spec)), false);
    // Only half a trustedHosts block: the value nobody chose is never the wildcard.
    assert.deepEqual(fleet([FQDN], { trustedHosts: { applyOn: 'exchange' } }).policy.trustedHosts.value, 'this-server');
  });

  it('on a fresh server the default CBT level changes nothing and needs no approval', async () => {
    const { outcome } = await planOf('setCbtHardening');
    assert.equal(outcome.status, 'compliant');
    assert.equal(outcome.change, undefined);
  });

  it('None and * are applied only when the fleet file asks for them, and then wait for approval', async () => {
    const cbt = await planOf('setCbtHardening', { cbtHardeningLevel: 'None' });
    assert.equal(cbt.outcome.change?.kind, 'cbt-none');
    const trusted = await planOf('setTrustedHosts', { trustedHosts: { applyOn: 'exchange', value: 'any' } });
    assert.equal(trusted.outcome.change?.kind, 'trusted-hosts-wildcard');
  });

  it('the firewall rule is planned for the Domain profile, and the profiles a fleet file lists are checked', async () => {
    const { outcome } = await planOf('openFirewall');
    assert.deepEqual((outcome.after as { rule: { profiles: string[] } }).rule.profiles, ['Domain']);
    const both = await planOf('openFirewall', { firewall: { profiles: ['Private', 'Domain'] } });
    assert.deepEqual((both.outcome.after as { rule: { profiles: string[] } }).rule.profiles, ['Domain', 'Private']);
    const bad = validateFleet({
      fleet: 'x',
      serviceAccount: 'CORP\\monosync_svc',
      monosyncServers: ['10.0.0.10'],
      approvers: ['alice'],
      approvals: 'unsigned',
      policy: { firewall: { profiles: ['Domain', 'Domain'] } },
      servers: [FQDN],
    });
    assert.equal(bad.ok, false);
    assert.match(bad.ok ? '' : bad.problems.join('\n'), /policy\.firewall\.profiles: list each profile once/);
  });
});
