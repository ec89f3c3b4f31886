/**
 * Group Policy that wins over a local setting (lab/scenarios.ts GROUP_POLICY_SCENARIOS): the product does
 * not fight it. The step changes nothing, fails as PolicyControlled (permanent), and the server waits for
 * an operator with a message that names the policy and the fix; the rest of the fleet is onboarded.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { serverWorkflowId } from '../domain/ids';
import type { ServerStatus } from '../domain/status';
import { accountSid } from '../lab/identity';
import { LabRunner } from '../lab/lab-runner';
import { GROUP_POLICY_SCENARIOS } from '../lab/scenarios';
import { fleetStatusQuery, serverStatusQuery } from '../workflows/messages';
import { estateFor } from './support/fleet-files';
import { startFleet, type TestEnv, testEnv, testFleet, withWorkers } from './support/temporal';
import { waitFor } from './support/wait';

/** No risky change; CBT Strict and TrustedHosts on the Exchange server, so the GPO-owned values must change. */
const POLICY = {
  delegation: 'skip',
  cbtHardeningLevel: 'Strict',
  trustedHosts: { applyOn: 'exchange', value: 'this-server' },
};

const EXPECTED = {
  cbtHardeningLevel: {
    step: 'setCbtHardening',
    message:
      /Group Policy 'Windows Remote Management \(WinRM\) > WinRM Service > Specify channel binding token hardening level'.*Set that policy to Strict, or to Not Configured/,
  },
  trustedHosts: {
    step: 'setTrustedHosts',
    message:
      /Group Policy 'Windows Remote Management \(WinRM\) > WinRM Client > Trusted Hosts'.*Add the entries to that policy, or set it to Not Configured/,
  },
  restrictedGroups: {
    step: 'grantRemoteManagement',
    message:
      /Group Policy 'Restricted Groups' \(cn=\{6AC1786C-.*does not list CORP\\monosync_svc.*Add CORP\\monosync_svc to that Restricted Groups entry/,
  },
  winrmIpv4Filter: {
    step: 'enableRemoting',
    message:
      /Group Policy 'Windows Remote Management \(WinRM\) > WinRM Service > Allow remote server management through WinRM' sets an empty IPv4 filter.*listens on no IPv4 address.*Set that policy's IPv4 filter to \*/,
  },
  winrmService: {
    step: 'enableRemoting',
    message:
      /Group Policy 'Security Settings > System Services' \(cn=\{31B2F340-.*start type to Disabled.*Set 'Windows Remote Management \(WS-Management\)' to Automatic in that policy/,
  },
} as const;

describe('Group Policy that owns a setting', () => {
  let env: TestEnv;
  before(async () => {
    env = await testEnv();
  });
  after(async () => env.close());

  it('each GPO-owned setting stops its server for an operator, naming the policy and the fix, and changes nothing', async () => {
    const scenarios = Object.keys(GROUP_POLICY_SCENARIOS) as Array<keyof typeof GROUP_POLICY_SCENARIOS>;
    const spec = testFleet(scenarios.length + 1, { policy: POLICY, settings: { maxFailurePercent: 100 } });
    const clean = spec.servers[scenarios.length].fqdn;
    const estate = estateFor(
      spec,
      scenarios.map((s) => GROUP_POLICY_SCENARIOS[s])
    );
    const serverStatus = (fqdn: string): Promise<ServerStatus | undefined> =>
      env.client.workflow
        .getHandle(serverWorkflowId(fqdn))
        .query(serverStatusQuery)
        .catch(() => undefined);

    await withWorkers(env, new LabRunner(estate), async () => {
      const handle = await startFleet(env, spec, 'carol');
      await waitFor(async () => {
        const phases = await Promise.all(
          scenarios.map(async (_, i) => (await serverStatus(spec.servers[i].fqdn))?.phase)
        );
        return phases.every((p) => p === 'awaiting-operator');
      }, 'every GPO-owned server waits for an operator');
      await waitFor(
        async () => (await handle.query(fleetStatusQuery)).servers[clean] === 'onboarded',
        'the server without such a policy is onboarded'
      );

      for (const [i, scenario] of scenarios.entries()) {
        const fqdn = spec.servers[i].fqdn;
        const waiting = (await serverStatus(fqdn))?.awaitingOperator;
        assert.equal(waiting?.step, EXPECTED[scenario].step, `${scenario}: the step that stopped`);
        assert.equal(waiting?.error.type, 'PolicyControlled', `${scenario}: ${waiting?.error.message}`);
        assert.match(waiting?.error.message ?? '', EXPECTED[scenario].message, scenario);
        // The policy's value stays: nothing local fought it.
        const host = estate.host(fqdn);
        if (scenario === 'cbtHardeningLevel') assert.equal(host.cbt.level, 'Relaxed');
        if (scenario === 'trustedHosts') assert.equal(host.trustedHosts.value, 'jump.corp.example');
        if (scenario === 'restrictedGroups') {
          assert.ok(!host.remoteManagementUsers.members.some((m) => m.sid === accountSid(spec.serviceAccount)));
        }
        if (scenario === 'winrmIpv4Filter') {
          // No listener of its own made, no WinRM restart scheduled: only the policy's listener is there.
          assert.deepEqual(
            host.listeners.map((l) => l.source),
            ['GPO']
          );
          assert.equal(host.scheduledTasks?.length ?? 0, 0);
        }
        if (scenario === 'winrmService') assert.deepEqual(host.winrm, { status: 'Running', startType: 'Disabled' });
      }
      await handle.cancel();
    });
  });
});
