/**
 * A large fleet runs as batches side by side (workflows/fleet-batches.ts): how it is split, and end to end
 * on the dev server a signed fleet whose batches share its maxParallel, take its requester's proof and
 * its decisions, never continue as new, and add up to the fleet's result; and the internal signals,
 * which anyone can send, refused when they do not fit.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { WorkflowHandle } from '@temporalio/client';
import { MAX_CONCURRENT_BATCHES, planBatches } from '../domain/batches';
import { DEFAULT_BATCH_SIZE, validateFleet } from '../domain/fleet';
import { fleetBatchWorkflowId, fleetWorkflowId, isFleetBatchWorkflowId, serverWorkflowId } from '../domain/ids';
import { changeId } from '../domain/risk';
import { FleetKey } from '../domain/search-attributes';
import type { BatchProgress, FleetStatus } from '../domain/status';
import { LabRunner } from '../lab/lab-runner';
import type { onboardFleet } from '../workflows';
import {
  batchProgressSignal,
  batchSlotsSignal,
  decideKindUpdate,
  fleetDecisionsSignal,
  fleetStatusQuery,
} from '../workflows/messages';
import { testApproverKey } from './support/approver-keys';
import { runCli } from './support/cli';
import { estateFor, ONE_APPROVAL_POLICY, SAFE_POLICY } from './support/fleet-files';
import { expectRefused, waitForPending } from './support/server-status';
import { FAST_RETRY, startFleet, type TestEnv, testEnv, testFleet, withWorkers } from './support/temporal';
import { waitFor } from './support/wait';

describe('planBatches', () => {
  it('runs a fleet that fits one batch, or predates batches, as one', () => {
    assert.deepEqual(planBatches(300, 32, 300), { batches: [], lanes: [] });
    assert.deepEqual(planBatches(5_000, 100, undefined), { batches: [], lanes: [] });
  });

  it('splits the servers into contiguous slices, run in a few lanes whose shares add up to maxParallel', () => {
    const { batches, lanes } = planBatches(1_000, 100, 300);
    assert.deepEqual(
      batches.map((b) => [b.from, b.to]),
      [
        [0, 250],
        [250, 500],
        [500, 750],
        [750, 1_000],
      ]
    );
    assert.deepEqual(lanes, [50, 50]);
    // 17 batches of 300 would leave the last one running alone: 18 of 278 or so, nine in each lane.
    const large = planBatches(5_000, 100, 300);
    assert.equal(large.batches.length, 18);
    assert.equal(large.lanes.length, MAX_CONCURRENT_BATCHES);
    assert.ok(large.batches.every((b, i) => b.to - b.from <= 300 && (i === 0 || b.from === large.batches[i - 1].to)));
    assert.equal(large.batches.at(-1)?.to, 5_000);
    assert.deepEqual(planBatches(100, 5, 10).lanes, [3, 2]);
  });

  it('runs batches one after another when the fleet has one slot', () => {
    const { batches, lanes } = planBatches(50, 1, 10);
    assert.equal(batches.length, 5);
    assert.equal(planBatches(1_500, 100, 300).batches.length, 6);
    assert.deepEqual(lanes, [1]);
  });

  it('takes batchSize from the fleet file, 300 by default, and refuses a useless one by name', () => {
    assert.equal(testFleet(1).settings.batchSize, DEFAULT_BATCH_SIZE);
    assert.equal(DEFAULT_BATCH_SIZE, 300);
    const refused = validateFleet({
      fleet: 'batch-size',
      serviceAccount: 'CORP\\monosync_svc',
      monosyncServers: ['10.20.30.41'],
      approvers: ['alice'],
      approvals: 'unsigned',
      servers: ['exch01.corp.example'],
      settings: { batchSize: 5 },
    });
    assert.ok(!refused.ok);
    assert.match(refused.problems.join('; '), /settings\.batchSize: .*10/);
  });

  it("names batches under the fleet's workflow id, and tells them from other workflows", () => {
    assert.equal(fleetBatchWorkflowId('emea', 0), 'fleet/emea/batch-1');
    assert.ok(isFleetBatchWorkflowId('fleet/emea/batch-12', 'emea'));
    for (const id of [
      'fleet/emea',
      'fleet/emea/batch-0',
      'fleet/emea/batch-1x',
      'fleet/emea-2/batch-1',
      'fleet/emea/batch-',
    ]) {
      assert.ok(!isFleetBatchWorkflowId(id, 'emea'), id);
    }
  });
});

describe('a fleet in batches', () => {
  let env: TestEnv;
  before(async () => {
    env = await testEnv();
  });
  after(async () => env.close());

  const bob = testApproverKey('bob');
  const signedApprovers = [
    { name: 'alice', key: testApproverKey('alice').publicKey },
    { name: 'bob', key: bob.publicKey },
  ];

  it("shares maxParallel, takes the signed request and decisions, and its result is its batches'", async () => {
    // 4 batches of 6 servers, 2 at a time with 3 slots each; every server waits for the fleet's approval of TrustedHosts *.
    const spec = testFleet(24, {
      approvers: signedApprovers,
      approvals: 'signed',
      policy: ONE_APPROVAL_POLICY,
      settings: { maxParallel: 6, batchSize: 10, stepRetry: FAST_RETRY },
    });
    const runner = new LabRunner(estateFor(spec), { latencyMs: 10 });
    const first = spec.servers[0].fqdn;
    const { result, midRun } = await withWorkers(env, runner, async () => {
      const fleet = await startFleet(env, spec, 'alice');
      await waitForPending(
        env.client.workflow.getHandle(serverWorkflowId(first)),
        changeId(first, 'setTrustedHosts', 'trusted-hosts-wildcard')
      );
      // The parent answers for the whole fleet once a batch has reported the waiting server.
      const midRun = await waitFor(async () => {
        const s = await fleet.query(fleetStatusQuery);
        return s.waiting?.[first] ? s : undefined;
      }, 'the fleet shows the waiting server from its batch report');
      const approved = await runCli(
        ['approve', spec.fleetId, '--kind', 'trusted-hosts-wildcard', '--as', 'bob', '--reason', 'CAB-9'],
        { TEMPORAL_TASK_QUEUE: env.taskQueue, FLEET_APPROVER_KEY_FILE: bob.keyFile }
      );
      assert.equal(approved.code, 0, approved.stderr);
      return { result: await fleet.result(), midRun };
    });

    assert.equal(midRun.counts.total, 24);
    assert.match(midRun.waiting?.[first] ?? '', /TrustedHosts/);
    assert.equal(result.counts.byPhase.onboarded, 24, JSON.stringify(result.counts.byPhase));
    assert.ok(Object.values(result.servers).every((p) => p === 'onboarded'));
    assert.deepEqual(
      result.batches,
      [0, 1, 2, 3].map((i) => fleetBatchWorkflowId(spec.fleetId, i))
    );
    assert.equal(result.standingDecisions.length, 1);
    assert.ok(runner.stats.maxInFlightServers <= 6, `servers in flight reached ${runner.stats.maxInFlightServers}`);

    // One run each, the fleet's and its batches': nothing continued as new.
    const runs: Array<{ id: string; status: string; parent?: string }> = [];
    const query = `WorkflowType = "onboardFleet" AND ${FleetKey.name} = "${spec.fleetId}"`;
    for await (const wf of env.client.workflow.list({ query })) {
      const described = await env.client.workflow.getHandle(wf.workflowId, wf.runId).describe();
      runs.push({
        id: wf.workflowId,
        status: wf.status.name,
        parent: described.parentExecution?.workflowId ?? undefined,
      });
    }
    runs.sort((a, b) => a.id.localeCompare(b.id));
    assert.deepEqual(runs, [
      { id: fleetWorkflowId(spec.fleetId), status: 'COMPLETED', parent: undefined },
      ...[0, 1, 2, 3].map((i) => ({
        id: fleetBatchWorkflowId(spec.fleetId, i),
        status: 'COMPLETED',
        parent: fleetWorkflowId(spec.fleetId),
      })),
    ]);
    const last = await env.client.workflow.getHandle(serverWorkflowId(spec.servers[23].fqdn)).describe();
    assert.equal(last.parentExecution?.workflowId, fleetBatchWorkflowId(spec.fleetId, 3));
  });

  it('gives a batch started after a decision that decision in its input', async () => {
    // One slot: three batches of 7 one after another; the first server waits for the decision, the later
    // batches start after it. A server that missed it would wait and, after 20 s, count it rejected.
    const spec = testFleet(21, {
      policy: ONE_APPROVAL_POLICY,
      settings: { maxParallel: 1, batchSize: 10, approvalTimeout: '20s', stepRetry: FAST_RETRY },
    });
    const first = spec.servers[0].fqdn;
    const result = await withWorkers(env, new LabRunner(estateFor(spec)), async () => {
      const fleet = await startFleet(env, spec, 'alice');
      await waitForPending(
        env.client.workflow.getHandle(serverWorkflowId(first)),
        changeId(first, 'setTrustedHosts', 'trusted-hosts-wildcard')
      );
      await fleet.executeUpdate(decideKindUpdate, {
        args: [
          { kind: 'trusted-hosts-wildcard', servers: 'all', decision: 'approve', approver: 'bob', reason: 'CAB-9' },
        ],
      });
      return fleet.result();
    });
    assert.equal(result.counts.byPhase.onboarded, 21, JSON.stringify(result.counts.byPhase));
    const last = await env.client.workflow.getHandle(fleetBatchWorkflowId(spec.fleetId, 2)).fetchHistory();
    const input = last.events?.[0]?.workflowExecutionStartedEventAttributes?.input?.payloads?.[0]?.data;
    const carried = JSON.parse(Buffer.from(input ?? []).toString()) as { carry?: { standingDecisions: unknown[] } };
    assert.equal(carried.carry?.standingDecisions.length, 1, 'the last batch did not get the decision at its start');
  });

  it('keeps a batch that continues as new a batch of its fleet', async () => {
    // Two batches of 40 at the smallest history budget: each passes it and continues as new.
    const spec = testFleet(80, {
      policy: SAFE_POLICY,
      settings: { maxParallel: 4, batchSize: 40, historyEventBudget: 200, stepRetry: FAST_RETRY },
    });
    const result = await withWorkers(env, new LabRunner(estateFor(spec), { latencyMs: 5 }), async () =>
      (await startFleet(env, spec, 'alice')).result()
    );
    assert.equal(result.counts.byPhase.onboarded, 80, JSON.stringify(result.counts.byPhase));
    const batchId = fleetBatchWorkflowId(spec.fleetId, 0);
    const inputs: Array<{ batch?: { index: number; slots?: number }; carry?: unknown }> = [];
    for await (const run of env.client.workflow.list({ query: `WorkflowId = "${batchId}"` })) {
      const history = await env.client.workflow.getHandle(batchId, run.runId).fetchHistory();
      const data = history.events?.[0]?.workflowExecutionStartedEventAttributes?.input?.payloads?.[0]?.data;
      inputs.push(JSON.parse(Buffer.from(data ?? []).toString()) as (typeof inputs)[number]);
    }
    assert.ok(inputs.length > 1, 'the batch did not continue as new: raise the server count');
    // Every run of it is batch 1 of 2 with the lane's two slots (no run lost its reports or its fleet's signals).
    assert.deepEqual(
      inputs.map((i) => [i.batch?.index, i.batch?.slots]),
      inputs.map(() => [0, 2])
    );
  });

  it('refuses internal signals that do not fit, and decisions sent to a batch instead of the fleet', async () => {
    const spec = testFleet(12, {
      policy: ONE_APPROVAL_POLICY,
      settings: { maxParallel: 2, batchSize: 10, stepRetry: FAST_RETRY },
    });
    const first = spec.servers[0].fqdn;
    const result = await withWorkers(env, new LabRunner(estateFor(spec)), async () => {
      const fleet: WorkflowHandle<typeof onboardFleet> = await startFleet(env, spec, 'alice');
      const batch = env.client.workflow.getHandle<typeof onboardFleet>(fleetBatchWorkflowId(spec.fleetId, 0));
      await waitForPending(
        env.client.workflow.getHandle(serverWorkflowId(first)),
        changeId(first, 'setTrustedHosts', 'trusted-hosts-wildcard')
      );

      const outside: BatchProgress = {
        index: 1,
        phases: { [first]: 'onboarded' },
        started: 1,
        inFlight: [],
        waiting: {},
        refusedCount: 0,
      };
      await fleet.signal(batchProgressSignal, outside);
      await fleet.signal(batchProgressSignal, { ...outside, index: 7 });
      await fleet.signal(batchProgressSignal, null as unknown as BatchProgress);
      const refusedAtFleet = await waitFor(async () => {
        const s = await fleet.query(fleetStatusQuery);
        return s.refused.length >= 3 ? s : undefined;
      }, 'the fleet refused the forged reports');
      assert.deepEqual(
        refusedAtFleet.refused.map((r) => [r.via, r.refusal.replace(/:.*/s, '')]),
        [
          ['batchProgress', `batchProgress`],
          ['batchProgress', 'batchProgress.index'],
          ['batchProgress', 'malformed message'],
        ]
      );
      assert.match(refusedAtFleet.refused[0].refusal, new RegExp(`${first} is not a server of batch 2`));
      assert.notEqual(refusedAtFleet.servers[first], 'onboarded', 'a forged report changed the status');

      // The requester approving their own change, relayed as if by the fleet: the batch checks it as the fleet would.
      const own = {
        kind: 'trusted-hosts-wildcard',
        servers: 'all',
        decision: 'approve',
        approver: 'alice',
        reason: 'CAB-9',
      };
      await batch.signal(fleetDecisionsSignal, [{ ...own, at: new Date().toISOString() }] as never);
      const refusedAtBatch = await waitFor(async () => {
        const s: FleetStatus = await batch.query(fleetStatusQuery);
        return s.refused.length >= 1 ? s : undefined;
      }, 'the batch refused the forged decision');
      assert.equal(refusedAtBatch.refused[0].via, 'fleet');
      assert.match(refusedAtBatch.refused[0].refusal, /alice/);
      assert.deepEqual(refusedAtBatch.standingDecisions, []);

      // More slots than the batch's share of maxParallel (1 of 2): refused, never taken.
      await batch.signal(batchSlotsSignal, 5);
      const refusedSlots = await waitFor(async () => {
        const s: FleetStatus = await batch.query(fleetStatusQuery);
        return s.refused.length >= 2 ? s : undefined;
      }, 'the batch refused the forged slots');
      assert.equal(refusedSlots.refused[1].via, 'batchSlots');
      assert.match(refusedSlots.refused[1].refusal, /batchSlots: expected a whole number from 0 to 1/);

      await expectRefused(
        batch.executeUpdate(decideKindUpdate, { args: [{ ...own, approver: 'bob' } as never] }),
        'DecisionRefused',
        new RegExp(`send decideKind to the fleet's workflow ${fleetWorkflowId(spec.fleetId)}`)
      );
      await fleet.executeUpdate(decideKindUpdate, { args: [{ ...own, approver: 'bob' } as never] });
      return fleet.result();
    });
    assert.equal(result.counts.byPhase.onboarded, 12, JSON.stringify(result.counts.byPhase));
    assert.ok(result.refusedCount >= 4, `refused ${result.refusedCount}`);
  });
});
