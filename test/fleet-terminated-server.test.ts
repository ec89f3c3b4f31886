/**
 * A server workflow terminated by hand (say from the Web UI) after the fleet continued as new sends
 * no signal and its result never reaches the new run: the fleet must still notice, free the slot and
 * finish, instead of waiting for ever.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { serverWorkflowId } from '../domain/ids';
import { LabRunner } from '../lab/lab-runner';
import { fleetStatusQuery } from '../workflows/messages';
import { estateFor, SAFE_POLICY } from './support/fleet-files';
import { startFleet, type TestEnv, testEnv, testFleet, withWorkers } from './support/temporal';
import { waitFor } from './support/wait';

describe('a server closed behind the fleet', () => {
  let env: TestEnv;
  before(async () => {
    env = await testEnv();
  });
  after(async () => env.close());

  it('is found after continue-as-new and recorded as aborted, and the fleet finishes', async () => {
    // Enough servers that the run passes its 200-event budget however workflow tasks batch events.
    const spec = testFleet(60, {
      policy: SAFE_POLICY,
      settings: {
        maxParallel: 6,
        maxFailurePercent: 100,
        historyEventBudget: 200,
        serverCheckInterval: '1s',
        stepRetry: { initialInterval: '100ms', maximumAttempts: 2 },
      },
    });
    const stuck = spec.servers[0].fqdn;
    const last = spec.servers[59].fqdn;
    const estate = estateFor(spec);
    // A permanent failure: the server waits for an operator, in flight across continue-as-new.
    estate.injectFault({ kind: 'error', code: 'ADIdentityNotFound', host: stuck, script: 'Get-OnboardingSnapshot' });
    // The last server started waits too; whichever run sees it close (by its child handle, or by asking
    // Temporal after continue-as-new), the fleet records the same phase.
    estate.injectFault({ kind: 'error', code: 'ADIdentityNotFound', host: last, script: 'Get-OnboardingSnapshot' });

    await withWorkers(env, new LabRunner(estate), async () => {
      const handle = await startFleet(env, spec, 'carol');
      await waitFor(async () => {
        const status = await handle.query(fleetStatusQuery);
        return status.run > 1 && status.servers[stuck] === 'awaiting-operator';
      }, 'the fleet continued as new with the stuck server still in flight');

      await env.client.workflow.getHandle(serverWorkflowId(stuck)).terminate('terminated by hand in the UI');
      await waitFor(
        async () => (await handle.query(fleetStatusQuery)).servers[last] === 'awaiting-operator',
        'the last server waits for an operator'
      );
      await env.client.workflow.getHandle(serverWorkflowId(last)).terminate('terminated by hand in the UI');

      await waitFor(async () => (await handle.describe()).status.name === 'COMPLETED', 'the fleet finishes');
      const result = await handle.result();
      assert.equal(result.servers[stuck], 'aborted');
      assert.equal(result.servers[last], 'aborted');
      assert.equal(result.counts.byPhase.onboarded, 58, JSON.stringify(result.counts.byPhase));
      assert.ok(result.run > 1);
      assert.equal(result.done, true);
      assert.deepEqual(result.inFlight, []);
    });
  });
});
