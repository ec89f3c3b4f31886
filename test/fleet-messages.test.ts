/**
 * No message can wedge, fake or bloat a workflow: a null or forged `serverPhase`, thousands of junk
 * decisions. Sent the way anyone with access to the namespace could (a client's signal), against the
 * real dev server and the lab.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { WorkflowHandle } from '@temporalio/client';
import { KEPT_REFUSALS, type DecisionInput } from '../domain/approvals';
import { serverWorkflowId } from '../domain/ids';
import { changeId } from '../domain/risk';
import type { FleetStatus, ServerPhaseMessage } from '../domain/status';
import { LabRunner } from '../lab/lab-runner';
import { workflowTaskProblems } from '../lib/workflow-task-problems';
import type { onboardFleet } from '../workflows';
import {
  decideChangeSignal,
  decideChangeUpdate,
  fleetStatusQuery,
  serverPhaseSignal,
  serverStatusQuery,
} from '../workflows/messages';
import { estateFor, ONE_APPROVAL_POLICY } from './support/fleet-files';
import { waitForPending, waitForStatus } from './support/server-status';
import { FAST_RETRY, startFleet, type TestEnv, testEnv, testFleet, withWorkers } from './support/temporal';
import { waitFor } from './support/wait';

/**
 * Workflow tasks in a run's history that point at a problem (lib/workflow-task-problems.ts): a message
 * that wedges a workflow shows here. Left out as well: tasks the server force-closed, since a flood of
 * signals beyond its buffered-event limit makes it end the task in flight to take them in.
 */
async function failedTasks(handle: WorkflowHandle, runId?: string): Promise<string[]> {
  const history = await handle.client.getHandle(handle.workflowId, runId).fetchHistory();
  return workflowTaskProblems(history).filter((p) => !p.includes('FORCE_CLOSE_COMMAND'));
}

/** Every run of a workflow chain. */
async function runIdsOf(handle: WorkflowHandle): Promise<string[]> {
  const ids: string[] = [];
  for await (const run of handle.client.list({ query: `WorkflowId = "${handle.workflowId}"` })) {
    ids.push(run.runId);
  }
  return ids;
}

describe('messages that cannot wedge, fake or bloat a workflow', () => {
  let env: TestEnv;
  before(async () => {
    env = await testEnv();
  });
  after(async () => env.close());

  it('a null serverPhase is refused and counted; a forged final phase does not finish the fleet, in any run', async () => {
    // The budget is the smallest allowed: the junk signals below push the fleet into its next run,
    // where the waiting server is inherited (no child handle) and only Temporal can confirm it.
    const spec = testFleet(1, {
      policy: ONE_APPROVAL_POLICY,
      settings: { stepRetry: FAST_RETRY, historyEventBudget: 200, serverCheckInterval: '1h' },
    });
    const fqdn = spec.servers[0].fqdn;
    const change = changeId(fqdn, 'setTrustedHosts', 'trusted-hosts-wildcard');
    const server = env.client.workflow.getHandle(serverWorkflowId(fqdn));
    await withWorkers(env, new LabRunner(estateFor(spec)), async () => {
      const fleet: WorkflowHandle<typeof onboardFleet> = await startFleet(env, spec, 'alice');
      const status = (): Promise<FleetStatus | undefined> => fleet.query(fleetStatusQuery).catch(() => undefined);
      const forge = (message: unknown) => fleet.signal(serverPhaseSignal, message as ServerPhaseMessage);
      await waitForPending(server, change);

      // Run 1: the server is this run's child.
      await forge(null);
      const afterNull = await waitFor(async () => {
        const s = await status();
        return s && s.refusedCount >= 1 ? s : undefined;
      }, 'the fleet refused the null serverPhase');
      assert.match(afterNull.refused[0].refusal, /malformed message: serverPhase: /);
      assert.doesNotMatch(afterNull.refused[0].refusal, /fleet file/);
      assert.equal(afterNull.refused[0].via, 'serverPhase');
      await forge({ fqdn, phase: 'onboarded' });
      await forge({ fqdn, phase: 'failed', extra: 'forged' });
      await forge({ fqdn, phase: 'queued' });
      const afterForged = await waitFor(async () => {
        const s = await status();
        return s && s.refusedCount >= 3 ? s : undefined;
      }, 'the fleet took in the forged phases');
      assert.match(afterForged.refused[2].refusal, /never reports queued/);
      // The fleet hears of a server's phase when it matters (waiting for a person, end): it waits for approval.
      assert.equal(afterForged.servers[fqdn], 'awaiting-approval', 'a forged final phase is not recorded');
      assert.deepEqual(afterForged.inFlight, [fqdn]);
      assert.equal(afterForged.done, false);

      // Junk until the fleet continues as new: then the server is inherited.
      for (let i = 0; i < 40 && ((await status())?.run ?? 1) === 1; i += 1) {
        await Promise.all(Array.from({ length: 10 }, () => forge({ junk: i })));
      }
      const secondRun = await waitFor(async () => {
        const s = await status();
        return s && s.run > 1 ? s : undefined;
      }, 'the fleet continued as new');
      assert.ok(secondRun.refusedCount >= 3, 'the count is carried into the next run');
      assert.deepEqual(secondRun.inFlight, [fqdn]);

      // Run 2: the forged final phase makes the fleet ask Temporal, which says the server still runs.
      const before = secondRun.refusedCount;
      await forge({ fqdn, phase: 'onboarded' });
      await waitFor(async () => {
        // The latest run: the one that inherited the server.
        const history = await env.client.workflow.getHandle(fleet.workflowId).fetchHistory();
        return (history.events ?? []).some((e) => e.activityTaskCompletedEventAttributes);
      }, 'the fleet checked the server with Temporal');
      const afterCheck = await status();
      assert.equal(afterCheck?.servers[fqdn], 'awaiting-approval');
      assert.deepEqual(afterCheck?.inFlight, [fqdn]);
      assert.equal(afterCheck?.refusedCount, before, 'a well-formed message is not counted as refused');

      // The real end, reported by the server and confirmed with Temporal, finishes the fleet.
      await server.executeUpdate(decideChangeUpdate, {
        args: [{ changeId: change, decision: 'approve', approver: 'bob', reason: 'CAB-1' }],
      });
      const result = await fleet.result();
      assert.equal(result.servers[fqdn], 'onboarded');
      assert.equal(result.done, true);
      assert.ok(result.run > 1);
      for (const runId of await runIdsOf(fleet)) assert.deepEqual(await failedTasks(fleet, runId), [], `run ${runId}`);
    });
  });

  it('a thousand junk decisions keep a bounded status and result, and the real decision still counts', async () => {
    const spec = testFleet(1, { policy: ONE_APPROVAL_POLICY, settings: { stepRetry: FAST_RETRY } });
    const fqdn = spec.servers[0].fqdn;
    const change = changeId(fqdn, 'setTrustedHosts', 'trusted-hosts-wildcard');
    const server = env.client.workflow.getHandle(serverWorkflowId(fqdn));
    // A thousand, not the 4,000 of the issue: SDK 1.24 on Node 20 crashes the whole worker ("async hook
    // stack has become corrupted") after a few thousand signals to one workflow, whatever its handler
    // does (a no-op handler too). What this code bounds is shown here; that limit is the SDK's.
    const JUNK = 1000;
    await withWorkers(env, new LabRunner(estateFor(spec)), async () => {
      const fleet = await startFleet(env, spec, 'alice');
      await waitForPending(server, change);
      const baseline = JSON.stringify(await server.query(serverStatusQuery)).length;
      const junk = (i: number): DecisionInput =>
        (i % 3 === 0
          ? null
          : i % 3 === 1
            ? { changeId: change, decision: 'approve', approver: 'mallory', reason: 'x'.repeat(400) + String(i) }
            : {
                changeId: `forged-${i}`,
                decision: 'maybe',
                approver: 'bob',
                reason: 'junk',
              }) as unknown as DecisionInput;
      for (let i = 0; i < JUNK; i += 50) {
        await Promise.all(Array.from({ length: 50 }, (_, k) => server.signal(decideChangeSignal, junk(i + k))));
      }
      const status = await waitForStatus(server, (s) => s.refusedCount >= JUNK, 120_000);
      assert.equal(status.refusedCount, JUNK);
      assert.equal(status.refused.length, KEPT_REFUSALS, 'only the latest refusals are kept');
      assert.deepEqual(status.decisions, []);
      // Ten kept refusals of at most a few hundred characters each, whatever was sent.
      const size = JSON.stringify(status).length;
      assert.ok(size < baseline + 10_000, `status grew from ${baseline} to ${size} characters`);

      await server.signal(decideChangeSignal, {
        changeId: change,
        decision: 'approve',
        approver: 'bob',
        reason: 'CAB-1',
      });
      const result = await server.result();
      assert.equal(result.phase, 'onboarded');
      assert.equal(result.refusedCount, JUNK);
      assert.equal(result.refused.length, KEPT_REFUSALS);
      assert.ok(JSON.stringify(result).length < baseline + 10_000);
      assert.equal((await fleet.result()).servers[fqdn], 'onboarded');
      assert.deepEqual(await failedTasks(server), []);
    });
  });
});
