/** The read-only drift audit on the lab: a compliant fleet, then TrustedHosts changed by hand. */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { auditWorkflowId } from '../domain/ids';
import type { AuditReport } from '../domain/rotation';
import { LabRunner } from '../lab/lab-runner';
import { auditFleet } from '../workflows';
import { runCli } from './support/cli';
import { estateFor, writeFleetFile } from './support/fleet-files';
import { testEnv, testFleet, withWorkers, type TestEnv } from './support/temporal';

/**
 * What the lab's 'onboarded' profile already has: TrustedHosts = the Monosync addresses on the
 * Exchange server, CbtHardeningLevel Relaxed (the lab's and the policy's default), TrustedForDelegation set.
 */
const ONBOARDED_POLICY = {
  delegation: 'unconstrained',
  cbtHardeningLevel: 'Relaxed',
  trustedHosts: { applyOn: 'exchange', value: 'monosync-servers' },
};

describe('drift audit on the lab', () => {
  let env: TestEnv;
  before(async () => {
    env = await testEnv();
  });
  after(async () => env.close());

  it('finds nothing on a compliant fleet, then reports TrustedHosts changed by hand (workflow and CLI)', async () => {
    const spec = testFleet(3, { policy: ONBOARDED_POLICY });
    const [first, drifting, third] = spec.servers.map((s) => s.fqdn);
    const estate = estateFor(
      spec,
      spec.servers.map(() => 'onboarded')
    );
    const file = writeFleetFile(spec);
    const audit = (suffix: string): Promise<AuditReport> =>
      env.client.workflow.execute(auditFleet, {
        workflowId: `${auditWorkflowId(spec.fleetId)}/${suffix}`,
        taskQueue: env.taskQueue,
        args: [{ spec }],
      });

    await withWorkers(env, new LabRunner(estate), async () => {
      const clean = await audit('clean');
      assert.equal(clean.fleetId, spec.fleetId);
      assert.deepEqual(clean.drifted, {}, `nothing drifted: ${JSON.stringify(clean.drifted)}`);
      assert.deepEqual([...clean.compliant].sort(), [first, drifting, third].sort());
      assert.deepEqual(clean.notApplicable, []);
      const cleanCli = await runCli(['audit', 'run', file], { TEMPORAL_TASK_QUEUE: env.taskQueue });
      assert.equal(cleanCli.code, 0, cleanCli.stderr);
      assert.doesNotMatch(cleanCli.stdout, /DRIFT/);
      assert.match(cleanCli.stdout, /0 drifted, 3 compliant/);

      // Someone replaces TrustedHosts on one server by hand.
      const world = JSON.stringify(estate.toJSON().hosts);
      estate.host(drifting).trustedHosts.value = 'jumphost.corp.example';

      const drifted = await audit('drifted');
      assert.deepEqual(Object.keys(drifted.drifted), [drifting]);
      assert.deepEqual(
        drifted.drifted[drifting].map((f) => f.step),
        ['setTrustedHosts']
      );
      assert.match(drifted.drifted[drifting][0].summary, /jumphost\.corp\.example/);
      assert.deepEqual([...drifted.compliant].sort(), [first, third].sort());

      const cli = await runCli(['audit', 'run', file], { TEMPORAL_TASK_QUEUE: env.taskQueue });
      assert.equal(cli.code, 1, `exit 1 when something drifted\n${cli.stdout}\n${cli.stderr}`);
      assert.match(cli.stdout, new RegExp(`${drifting.replace(/\./g, '\\.')}: DRIFT`));
      assert.match(cli.stdout, /setTrustedHosts: /);
      assert.match(cli.stdout, /1 drifted, 2 compliant/);
      for (const fqdn of [first, third])
        assert.doesNotMatch(cli.stdout, new RegExp(`${fqdn.replace(/\./g, '\\.')}: DRIFT`));

      // The audit is read-only: the hand-made value is still there and nothing else changed.
      assert.equal(estate.host(drifting).trustedHosts.value, 'jumphost.corp.example');
      estate.host(drifting).trustedHosts.value = JSON.parse(world)[drifting].trustedHosts.value;
      assert.equal(JSON.stringify(estate.toJSON().hosts), world, 'the audit changed nothing in the lab');

      // '*' set by hand already covers the required entries (onboarding would change nothing), yet it
      // is the riskier value nobody asked for: the audit reports it.
      estate.host(third).trustedHosts.value = '*';
      const widened = await audit('widened');
      assert.deepEqual(Object.keys(widened.drifted), [third]);
      assert.match(widened.drifted[third][0].summary, /TrustedHosts holds '\*', which the policy does not ask for/);
    });
  });
});
