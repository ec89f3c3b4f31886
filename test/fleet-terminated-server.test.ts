/**
 * A server workflow terminated by hand (say from the Web UI) after the fleet continued as new sends
 * no signal and its result never reaches the new run: the fleet must still notice, free the slot and
 * finish, instead of waiting for ever.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { Worker } from '@temporalio/worker';
import { serverWorkflowId } from '../domain/ids';
import { LabRunner } from '../lab/lab-runner';
import { fleetStatusQuery } from '../workflows/messages';
import { estateFor, SAFE_POLICY } from './support/fleet-files';
import { startFleet, type TestEnv, testEnv, testFleet, withWorkers, workflowSource } from './support/temporal';
import { waitFor } from './support/wait';

/**
 * Deadlines for waits on a 60-server fleet: generous, since the suite runs files side by side on two
 * cores and a wait only ends early when its event happens (it never passes on time alone).
 */
const LONG_WAIT_MS = 300_000;

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
      // A query can land while the fleet is between two runs: then try again.
      const fleetStatus = () => handle.query(fleetStatusQuery).catch(() => undefined);
      /** How many times the fleet, over all its runs, has asked Temporal about inherited servers. */
      const fleetChecks = async (): Promise<number> => {
        let checks = 0;
        for await (const run of env.client.workflow.list({ query: `WorkflowId = "${handle.workflowId}"` })) {
          const history = await env.client.workflow.getHandle(run.workflowId, run.runId).fetchHistory();
          const scheduled = new Set(
            (history.events ?? [])
              .filter((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'findClosedServers')
              .map((e) => String(e.eventId))
          );
          checks += (history.events ?? []).filter((e) =>
            scheduled.has(String(e.activityTaskCompletedEventAttributes?.scheduledEventId))
          ).length;
        }
        return checks;
      };
      await waitFor(
        async () => {
          const status = await fleetStatus();
          return !!status && status.run > 1 && status.servers[stuck] === 'awaiting-operator';
        },
        'the fleet continued as new with the stuck server still in flight',
        LONG_WAIT_MS
      );

      // A reset (from the UI, say) ends the run the fleet started but continues its chain: still in flight.
      const stuckHandle = env.client.workflow.getHandle(serverWorkflowId(stuck));
      const firstTask = (await stuckHandle.fetchHistory()).events?.find((e) => e.workflowTaskCompletedEventAttributes);
      const checksBefore = await fleetChecks();
      await env.client.workflowService.resetWorkflowExecution({
        namespace: 'default',
        workflowExecution: { workflowId: stuckHandle.workflowId },
        reason: 'reset by hand in the UI',
        workflowTaskFinishEventId: firstTask?.eventId,
        requestId: randomUUID(),
      });
      await waitFor(
        async () => (await fleetChecks()) >= checksBefore + 2 || !(await fleetStatus())?.inFlight.includes(stuck),
        'the fleet checked twice since the reset',
        LONG_WAIT_MS
      );
      const afterReset = await fleetStatus();
      assert.equal(afterReset?.servers[stuck], 'awaiting-operator');
      assert.ok(afterReset?.inFlight.includes(stuck), 'a reset server stays in flight');

      await stuckHandle.terminate('terminated by hand in the UI');
      await waitFor(
        async () => (await fleetStatus())?.servers[last] === 'awaiting-operator',
        'the last server waits for an operator',
        LONG_WAIT_MS
      );
      await env.client.workflow.getHandle(serverWorkflowId(last)).terminate('terminated by hand in the UI');

      // Event-driven: the result call returns when the last run of the chain completes.
      const result = await handle.result();
      assert.equal(result.servers[stuck], 'aborted');
      assert.equal(result.servers[last], 'aborted');
      assert.equal(result.counts.byPhase.onboarded, 58, JSON.stringify(result.counts.byPhase));
      assert.ok(result.run > 1);
      assert.equal(result.done, true);
      assert.deepEqual(result.inFlight, []);

      // Every run of the chain, with its timers and checks, replays against the current code.
      const runs: Array<{ workflowId: string; history: Awaited<ReturnType<typeof handle.fetchHistory>> }> = [];
      for await (const run of env.client.workflow.list({ query: `WorkflowId = "${handle.workflowId}"` })) {
        runs.push({
          workflowId: run.workflowId,
          history: await env.client.workflow.getHandle(run.workflowId, run.runId).fetchHistory(),
        });
      }
      assert.equal(runs.length, result.run);
      const checked = runs.filter(({ history }) =>
        history.events?.some((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'findClosedServers')
      );
      assert.ok(checked.length > 0, 'some run asked Temporal about its inherited servers');
      for await (const replay of Worker.runReplayHistories(workflowSource(), runs)) {
        assert.equal(replay.error, undefined, `a fleet run does not replay: ${String(replay.error)}`);
      }
    });
  });
});
