/**
 * Every step against the lab, through LabRunner and the product's own script calls: plan changes
 * nothing and predicts, apply makes exactly the predicted change, a second apply is a no-op, and
 * rollback restores the earlier state.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { FleetSpec } from '../domain/fleet';
import type { JsonValue } from '../domain/scripts';
import { CHANGE_STEPS, STEP_IDS, STEP_STATE_SCHEMAS, type StepId } from '../domain/steps';
import type { LabEstate } from '../lab/estate';
import { accountSid } from '../lab/identity';
import { LabRunner } from '../lab/lab-runner';
import type { ProfileName } from '../lab/profiles';
import { callFor, estateFor, fleet, MONOSYNC, world } from './lab-fixtures';

const FQDN = 'exch01.corp.example';

interface StepCase {
  step: StepId;
  profile: ProfileName;
  policy?: Record<string, unknown>;
  /** The lab fact this step is about, read straight from the state. */
  fact(estate: LabEstate, spec: FleetSpec): unknown;
  expected: unknown;
}

const CASES: StepCase[] = [
  {
    step: 'grantRemoteManagement',
    profile: 'fresh',
    fact: (e, s) => e.host(FQDN).remoteManagementUsers.members.some((m) => m.sid === accountSid(s.serviceAccount)),
    expected: true,
  },
  {
    step: 'enableKerberosDelegation',
    profile: 'fresh',
    fact: (e) => e.computer('EXCH01')?.trustedForDelegation,
    expected: true,
  },
  {
    step: 'enableRemoting',
    profile: 'winrm-stopped',
    fact: (e) => e.host(FQDN).winrm,
    expected: { status: 'Running', startType: 'Automatic' },
  },
  {
    step: 'openFirewall',
    profile: 'fresh',
    fact: (e) => e.host(FQDN).firewall.rules.find((r) => r.name === 'Monosync-WinRM-In'),
    expected: {
      name: 'Monosync-WinRM-In',
      enabled: true,
      localPorts: [5985, 5986],
      remoteAddresses: MONOSYNC,
      profiles: ['Domain'],
    },
  },
  {
    step: 'ensureHttpsListener',
    profile: 'fresh',
    fact: (e) => {
      const host = e.host(FQDN);
      const listener = host.listeners.find((l) => l.transport === 'HTTPS');
      return host.certificates.find((c) => c.thumbprint === listener?.thumbprint)?.issuer;
    },
    expected: 'CN=Corp Issuing CA 01, DC=corp, DC=example',
  },
  // The manual's None and '*' are no longer defaults: asked for explicitly.
  {
    step: 'setCbtHardening',
    profile: 'fresh',
    policy: { cbtHardeningLevel: 'None' },
    fact: (e) => e.host(FQDN).cbt.level,
    expected: 'None',
  },
  {
    step: 'setTrustedHosts',
    profile: 'fresh',
    policy: { trustedHosts: { applyOn: 'exchange', value: 'any' } },
    fact: (e) => e.host(FQDN).trustedHosts.value,
    expected: '*',
  },
  {
    step: 'setTrustedHosts',
    profile: 'fresh',
    policy: { trustedHosts: { applyOn: 'monosync', value: 'this-server' } },
    fact: (e) => e.worker.trustedHosts.value,
    expected: FQDN,
  },
];

void describe('lab steps: plan, apply, apply again, roll back', () => {
  for (const c of CASES) {
    void it(`${c.step} on a ${c.profile} host${c.policy ? ` (policy ${JSON.stringify(c.policy)})` : ''}`, async () => {
      const spec = fleet([FQDN], c.policy);
      const estate = estateFor(spec, { [FQDN]: c.profile });
      const runner = new LabRunner(estate);
      const original = world(estate, FQDN);

      const plan = await runner.run(callFor(spec, c.step, 'plan'));
      assert.deepEqual(world(estate, FQDN), original, 'plan mutates nothing');
      assert.equal(plan.changed, true);
      assert.equal(plan.compliant, false);
      STEP_STATE_SCHEMAS[c.step].parse(plan.before);
      STEP_STATE_SCHEMAS[c.step].parse(plan.after);
      assert.notDeepEqual(plan.after, plan.before);
      assert.equal(estate.counters(FQDN)[plan.script]?.changes, 0);

      const apply = await runner.run(callFor(spec, c.step, 'apply'));
      assert.equal(apply.changed, true);
      assert.deepEqual(apply.before, plan.before);
      assert.deepEqual(apply.after, plan.after, 'apply does exactly what the plan predicted');
      assert.deepEqual(c.fact(estate, spec), c.expected);
      const applied = world(estate, FQDN);

      const again = await runner.run(callFor(spec, c.step, 'apply'));
      assert.equal(again.changed, false);
      assert.equal(again.compliant, true);
      assert.deepEqual(again.after, apply.after);
      assert.deepEqual(world(estate, FQDN), applied, 'a second apply changes nothing');
      assert.equal(estate.counters(FQDN)[plan.script]?.changes, 1);

      const verify = await runner.run(callFor(spec, c.step, 'plan'));
      assert.equal(verify.changed, false, 'the verifying plan finds nothing left to do');

      const rollback = await runner.run({ ...callFor(spec, c.step, 'rollback'), rollbackTo: plan.before as JsonValue });
      assert.equal(rollback.changed, true);
      if (c.step === 'enableRemoting') {
        // WinRM stays running on an Exchange server; start type and endpoints are restored.
        assert.deepEqual(estate.host(FQDN).winrm, { status: 'Running', startType: 'Manual' });
        assert.match(rollback.warnings.join(' '), /left running/);
      } else {
        assert.deepEqual(world(estate, FQDN), original, 'rollback restores the earlier state');
      }
    });
  }

  void it('every change step is covered', () => {
    assert.deepEqual([...new Set(CASES.map((c) => c.step))].sort(), [...CHANGE_STEPS].sort());
  });

  for (const step of ['preflight', 'verifyConnectivity'] as const) {
    void it(`${step} is read-only in every mode`, async () => {
      const spec = fleet([FQDN]);
      const estate = estateFor(spec);
      const runner = new LabRunner(estate);
      const original = world(estate, FQDN);
      for (const mode of ['plan', 'apply'] as const) {
        const envelope = await runner.run(callFor(spec, step, mode));
        STEP_STATE_SCHEMAS[step].parse(envelope.after);
        assert.deepEqual(envelope.after, envelope.before);
      }
      assert.deepEqual(world(estate, FQDN), original);
    });
  }

  void it('a fresh host onboarded step by step passes acceptance and matches the onboarded profile', async () => {
    const policy = { trustedHosts: { applyOn: 'exchange', value: 'monosync-servers' } };
    const spec = fleet([FQDN, 'exch02.corp.example'], policy);
    const estate = estateFor(spec, { 'exch02.corp.example': 'onboarded' });
    const runner = new LabRunner(estate);

    const before = await runner.run(callFor(spec, 'verifyConnectivity', 'plan'));
    assert.deepEqual(before.after, {
      wsmanHttps: false,
      kerberosSecondHop: false,
      servedThumbprint: null,
      sessionAsServiceAccount: null,
    });
    assert.equal(before.changed, true, 'a failing acceptance check reports would-change');

    for (const step of STEP_IDS) await runner.run(callFor(spec, step, 'apply'));
    const accepted = await runner.run(callFor(spec, 'verifyConnectivity', 'plan'));
    assert.equal(accepted.changed, false);
    assert.deepEqual(accepted.after, {
      wsmanHttps: true,
      kerberosSecondHop: true,
      servedThumbprint: estate.host(FQDN).listeners.find((l) => l.transport === 'HTTPS')?.thumbprint,
      sessionAsServiceAccount: true,
    });

    for (const step of CHANGE_STEPS) {
      const plan = await runner.run(callFor(spec, step, 'plan', 1));
      assert.equal(plan.changed, false, `${step} has nothing to do on an onboarded host`);
    }
    const snap = (i: number) => runner.run(callFor(spec, 'preflight', 'plan', i)).then((e) => e.after);
    const [a, b] = (await Promise.all([snap(0), snap(1)])) as Array<Record<string, unknown>>;
    for (const key of ['remoteManagement', 'remoting', 'cbt', 'trustedHosts', 'firewall']) {
      assert.deepEqual(a[key], b[key], key);
    }
  });
});
