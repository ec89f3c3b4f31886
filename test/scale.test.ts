/**
 * Fan-out limits and continue-as-new on a fleet big enough to exercise them (the 5,000-server run is
 * `npm run bench`): servers in flight never above maxParallel, AD calls never above the AD budget,
 * the fleet workflow continues as new before its history grows, and fleet decisions survive that.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { workflowTaskProblems } from '../lib/workflow-task-problems';
import { fleetTaskQueueFor, fleetWorkflowId, serverWorkflowId } from '../domain/ids';
import { LabRunner } from '../lab/lab-runner';
import { decideKindUpdate } from '../workflows/messages';
import { estateFor } from './support/fleet-files';
import { startFleet, type TestEnv, testEnv, testFleet, withWorkers } from './support/temporal';

type History = Awaited<ReturnType<ReturnType<TestEnv['client']['workflow']['getHandle']>['fetchHistory']>>;
type HistoryEvent = NonNullable<History['events']>[number];

function kindOf(e: HistoryEvent): string {
  const attributes = Object.keys(e).find((k) => k.endsWith('EventAttributes') && e[k as keyof HistoryEvent]);
  return attributes?.replace(/EventAttributes$/, '') ?? '?';
}

/**
 * How a run ended: the events between the task before its last (awaitQuietTask's mark) and its last task,
 * and how many of its refused tasks (UNHANDLED_COMMAND) were followed directly by its end.
 */
function runEnding(history: History): { sinceMark: string[]; endsAfterRefusal: number } {
  const kinds = (history.events ?? []).map(kindOf);
  const lastTask = kinds.lastIndexOf('workflowTaskCompleted');
  const mark = kinds.lastIndexOf('workflowTaskCompleted', lastTask - 1);
  const refusedAt = kinds.flatMap((k, i) => (k === 'workflowTaskFailed' ? [i] : []));
  return {
    sinceMark: kinds.slice(mark + 1, lastTask - 1),
    endsAfterRefusal: refusedAt.filter((i) => kinds.indexOf('workflowTaskCompleted', i) === lastTask).length,
  };
}

/** How many servers a run was handed to tell (its input's `carry.untold`). */
function untoldIn(history: History): number {
  const payload = history.events?.[0]?.workflowExecutionStartedEventAttributes?.input?.payloads?.[0]?.data;
  const input = payload ? (JSON.parse(Buffer.from(payload).toString()) as { carry?: { untold?: string[] } }) : {};
  return input.carry?.untold?.length ?? 0;
}

describe('a fleet at scale', () => {
  let env: TestEnv;
  before(async () => {
    env = await testEnv();
  });
  after(async () => env.close());

  it('honours maxParallel and the AD budget and continues as new with its decisions', async () => {
    // 80 servers: a server takes at least 3 fleet events (its start, the answer, its end), so at the budget
    // line (184 events) 19 or more are left, past what a run finishes itself (restFitsInRun: 250 events).
    const spec = testFleet(80, {
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
    assert.equal(result.counts.byPhase.onboarded, 80, JSON.stringify(result.counts.byPhase));
    assert.ok(result.run > 1, 'the fleet workflow continued as new');
    assert.ok(runner.stats.maxInFlightServers <= 4, `servers in flight reached ${runner.stats.maxInFlightServers}`);
    assert.ok(runner.stats.maxInFlightServers >= 2, 'servers did run side by side');
    assert.ok(runner.stats.maxAdInFlight <= 2, `AD calls at once reached ${runner.stats.maxAdInFlight}`);
    assert.ok(runner.stats.maxSessionsPerHost <= 2);

    const runs: number[] = [];
    /** Hand-over signals (fleetContinued) sent by each run, and the servers it inherited untold, by its start time. */
    const handovers: Array<{ startedAt: number; signals: number; untold: number }> = [];
    const endings: Array<ReturnType<typeof runEnding>> = [];
    for await (const wf of env.client.workflow.list({ query: `WorkflowId = "${fleetWorkflowId(spec.fleetId)}"` })) {
      runs.push(wf.historyLength);
      assert.equal(wf.taskQueue, fleetTaskQueueFor(env.taskQueue), 'the fleet runs on its own queue');
      // A workflow task that failed (a bug in workflow code) or ran too long is retried silently: catch it here.
      const history = await env.client.workflow.getHandle(wf.workflowId, wf.runId).fetchHistory();
      assert.deepEqual(workflowTaskProblems(history), [], `run ${wf.runId} had failing workflow tasks`);
      const signals = (history.events ?? []).filter(
        (e) => e.signalExternalWorkflowExecutionInitiatedEventAttributes?.signalName === 'fleetContinued'
      ).length;
      handovers.push({ startedAt: wf.startTime.getTime(), signals, untold: untoldIn(history) });
      if (wf.status.name === 'CONTINUED_AS_NEW') endings.push(runEnding(history));
    }
    // Every run ended in a task that one event led to (QUIET_END_PATCH), and a task Temporal
    // refused (events arrived meanwhile) never ended a run: the replay of a refused task waits again.
    assert.ok(endings.length > 0, 'no run continued as new');
    for (const { sinceMark, endsAfterRefusal } of endings) {
      // The mark's timer (unless one was pending), one event, the task that event led to.
      const events = sinceMark.filter((k) => k !== 'timerStarted' && !k.startsWith('workflowTask'));
      assert.equal(events.length, 1, `a run ended in a task that ${sinceMark.join(', ')} led to`);
      assert.equal(endsAfterRefusal, 0, 'a run ended in the task after a refused one');
    }
    assert.equal(runs.length, result.run);
    // The next run tells the servers it inherited (each exactly once), while it starts more; a run does
    // not stop starting to tell them itself. (Whether a run ends with servers in flight depends on timing.)
    handovers.sort((a, b) => a.startedAt - b.startedAt);
    assert.equal(handovers[0].signals, 0, 'the first run told its servers itself before continuing as new');
    for (const { signals, untold } of handovers) {
      assert.equal(signals, untold, 'a run did not tell each server it inherited once');
    }
    for (const events of runs) assert.ok(events < 400, `a fleet run has ${events} events (budget 200)`);
    const server = await env.client.workflow.getHandle(serverWorkflowId(spec.servers[0].fqdn)).describe();
    assert.equal(server.taskQueue, env.taskQueue, 'its servers run on the main queue');
  });

  it('has at most 10 server starts out at once, however many slots are free', async () => {
    const spec = testFleet(30, {
      policy: { cbtHardeningLevel: 'Relaxed', trustedHosts: { applyOn: 'monosync', value: 'this-server' } },
      settings: { maxParallel: 30 },
    });
    const result = await withWorkers(env, new LabRunner(estateFor(spec), { latencyMs: 20 }), async () => {
      const handle = await startFleet(env, spec, 'carol');
      // The one risky change left in this policy, approved for the whole fleet, so no server waits.
      await handle.executeUpdate(decideKindUpdate, {
        args: [
          { kind: 'unconstrained-delegation', servers: 'all', decision: 'approve', approver: 'bob', reason: 'CAB-9' },
        ],
      });
      return handle.result();
    });
    assert.equal(result.counts.byPhase.onboarded, 30, JSON.stringify(result.counts.byPhase));
    const history = await env.client.workflow.getHandle(fleetWorkflowId(spec.fleetId)).fetchHistory();
    let out = 0;
    let most = 0;
    for (const e of history.events ?? []) {
      if (e.startChildWorkflowExecutionInitiatedEventAttributes) most = Math.max(most, ++out);
      if (e.childWorkflowExecutionStartedEventAttributes || e.startChildWorkflowExecutionFailedEventAttributes)
        out -= 1;
    }
    assert.ok(most <= 10, `${most} starts were out at once`);
    assert.ok(most >= 5, `only ${most} starts were out at once: the fleet started servers one by one`);
  });
});
