/**
 * Fan-out limits and continue-as-new on a fleet big enough to exercise them (the 5,000-server run is
 * `npm run bench`): servers in flight never above maxParallel, AD calls never above the AD budget,
 * the fleet workflow continues as new before its history grows, and fleet decisions survive that.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { workflowTaskProblems } from '../lib/workflow-task-problems';
import { fleetWorkflowId } from '../domain/ids';
import { LabRunner } from '../lab/lab-runner';
import { decideKindUpdate } from '../workflows/messages';
import { estateFor } from './support/fleet-files';
import { startFleet, type TestEnv, testEnv, testFleet, withWorkers } from './support/temporal';

describe('a fleet at scale', () => {
  let env: TestEnv;
  before(async () => {
    env = await testEnv();
  });
  after(async () => env.close());

  it('honours maxParallel and the AD budget and continues as new with its decisions', async () => {
    const spec = testFleet(40, {
      policy: { cbtHardeningLevel: 'Relaxed', trustedHosts: { applyOn: 'monosync', value: 'this-server' } },
      settings: { maxParallel: 4, historyEventBudget: 200 },
    });
    const runner = new LabRunner(estateFor(spec), { latencyMs: 15 });
    const result = await withWorkers(
      env,
      runner,
      async () => {
        const handle = await startFleet(env, spec, 'carol');
        await handle.executeUpdate(decideKindUpdate, {
          args: [
            {
              kind: 'unconstrained-delegation',
              servers: 'all',
              decision: 'approve',
              approver: 'bob',
              reason: 'CAB-9: second hop needed',
            },
          ],
        });
        return handle.result();
      },
      { adConcurrency: 2 }
    );
    assert.equal(result.counts.byPhase.onboarded, 40, JSON.stringify(result.counts.byPhase));
    assert.ok(result.run > 1, 'the fleet workflow continued as new');
    assert.ok(runner.stats.maxInFlightServers <= 4, `servers in flight reached ${runner.stats.maxInFlightServers}`);
    assert.ok(runner.stats.maxInFlightServers >= 2, 'servers did run side by side');
    assert.ok(runner.stats.maxAdInFlight <= 2, `AD calls at once reached ${runner.stats.maxAdInFlight}`);
    assert.ok(runner.stats.maxSessionsPerHost <= 2);

    const runs: number[] = [];
    for await (const wf of env.client.workflow.list({ query: `WorkflowId = "${fleetWorkflowId(spec.fleetId)}"` })) {
      runs.push(wf.historyLength);
      // A workflow task that failed (a bug in workflow code) or ran too long is retried silently: catch it here.
      const history = await env.client.workflow.getHandle(wf.workflowId, wf.runId).fetchHistory();
      assert.deepEqual(workflowTaskProblems(history), [], `run ${wf.runId} had failing workflow tasks`);
    }
    assert.equal(runs.length, result.run);
    for (const events of runs) assert.ok(events < 400, `a fleet run has ${events} events (budget 200)`);
  });
});
