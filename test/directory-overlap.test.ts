/**
 * The delegation step changes the computer object at a domain controller, not the server: a server of a
 * current fleet starts it right after the snapshot and takes its result before the connection test, so the
 * DCs' queue and the server's WinRM steps overlap. Its approval and failures are handled at that point, and
 * an operator is asked only once nothing of the server runs. Real dev server, lab estate.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { WorkflowHandle } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { serverWorkflowId } from '../domain/ids';
import { OVERLAPPED_PLAN, STEP_IDS } from '../domain/steps';
import type { ServerStatus } from '../domain/status';
import { LabRunner } from '../lab/lab-runner';
import { decideChangeUpdate, resolveStepUpdate, serverStatusQuery } from '../workflows/messages';
import { estateFor } from './support/fleet-files';
import { startFleet, type TestEnv, testEnv, testFleet, withWorkers } from './support/temporal';
import { waitFor } from './support/wait';

const EventType = temporal.api.enums.v1.EventType;
const DELEGATION_POLICY = {
  delegation: 'unconstrained',
  cbtHardeningLevel: 'Relaxed',
  trustedHosts: { applyOn: 'monosync', value: 'this-server' },
};

type HistoryEvent = temporal.api.history.v1.IHistoryEvent;

async function historyOf(env: TestEnv, fqdn: string): Promise<HistoryEvent[]> {
  return (await env.client.workflow.getHandle(serverWorkflowId(fqdn)).fetchHistory()).events ?? [];
}

/** Activity types in the order the server scheduled them. */
function scheduledSteps(events: HistoryEvent[]): string[] {
  return events.flatMap((e) =>
    e.eventType === EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED
      ? [e.activityTaskScheduledEventAttributes?.activityType?.name ?? '']
      : []
  );
}

/** Event id at which the activity scheduled as `scheduledId` closed. */
function closedAt(events: HistoryEvent[], scheduledId: number): number {
  const closed = events.find(
    (e) =>
      Number(
        e.activityTaskCompletedEventAttributes?.scheduledEventId ??
          e.activityTaskFailedEventAttributes?.scheduledEventId
      ) === scheduledId
  );
  assert.ok(closed, `activity ${scheduledId} closed`);
  return Number(closed.eventId);
}

const scheduledIdOf = (events: HistoryEvent[], step: string, nth = 0): number => {
  const found = events.filter(
    (e) =>
      e.eventType === EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED &&
      e.activityTaskScheduledEventAttributes?.activityType?.name === step
  );
  assert.ok(found[nth], `${step} scheduled ${nth + 1} time(s)`);
  return Number(found[nth].eventId);
};

/** Event ids where the server set its phase search attribute to `phase`. */
const phaseUpserts = (events: HistoryEvent[], phase: string): number[] =>
  events.flatMap((e) => {
    const field = e.upsertWorkflowSearchAttributesEventAttributes?.searchAttributes?.indexedFields?.MonosyncPhase;
    return field?.data && Buffer.from(field.data).toString() === JSON.stringify(phase) ? [Number(e.eventId)] : [];
  });

describe('the delegation step beside the server’s own steps', () => {
  let env: TestEnv;
  before(async () => {
    env = await testEnv();
  });
  after(async () => env.close());

  it('the catalogue moves only the AD change: started after the snapshot, taken before the connection test', () => {
    assert.deepEqual(
      OVERLAPPED_PLAN.order,
      STEP_IDS.filter((s) => s !== 'enableKerberosDelegation').flatMap((s) =>
        s === 'verifyConnectivity' ? ['enableKerberosDelegation', s] : [s]
      )
    );
    assert.deepEqual([...OVERLAPPED_PLAN.startAfter], [['enableKerberosDelegation', 'preflight']]);
  });

  it('runs the delegation check while the host steps run, and asks for its approval once they are done', async () => {
    const spec = testFleet(1, { policy: DELEGATION_POLICY });
    const [{ fqdn, computerName }] = spec.servers;
    const estate = estateFor(spec);
    // The DCs answer slowly: the host's five steps finish while the delegation check still runs.
    const runner = new LabRunner(estate, { latencyMs: (call) => (call.target.host === 'ad' ? 400 : 5) });
    const result = await withWorkers(env, runner, async () => {
      const fleet = await startFleet(env, spec, 'carol');
      const server: WorkflowHandle = env.client.workflow.getHandle(serverWorkflowId(fqdn));
      const waiting = await waitFor(async () => {
        const s: ServerStatus | undefined = await server.query(serverStatusQuery).catch(() => undefined);
        return s?.phase === 'awaiting-approval' ? s : undefined;
      }, 'the server asks for approval of the delegation');
      const byStep = Object.fromEntries(waiting.steps.map((r) => [r.step, r.status]));
      assert.equal(byStep.enableKerberosDelegation, 'approval-required');
      for (const host of ['grantRemoteManagement', 'enableRemoting', 'openFirewall', 'ensureHttpsListener']) {
        assert.ok(
          ['changed', 'compliant'].includes(byStep[host] ?? ''),
          `${host} done before the approval: ${byStep[host]}`
        );
      }
      assert.equal(byStep.verifyConnectivity, 'pending');
      await server.executeUpdate(decideChangeUpdate, {
        args: [
          {
            changeId: waiting.pendingApprovals[0].change.id,
            decision: 'approve',
            approver: 'alice',
            reason: 'CAB-77 second hop',
          },
        ],
      });
      await fleet.result();
      return (await server.result()) as ServerStatus;
    });
    assert.equal(result.phase, 'onboarded');
    assert.deepEqual(
      result.steps.map((r) => r.step),
      STEP_IDS,
      'the step table keeps the catalogue order'
    );
    assert.equal(estate.computer(computerName)?.trustedForDelegation, true);

    const events = await historyOf(env, fqdn);
    assert.deepEqual(scheduledSteps(events), [
      'preflight',
      'enableKerberosDelegation',
      'grantRemoteManagement',
      'enableRemoting',
      'openFirewall',
      'ensureHttpsListener',
      'setCbtHardening',
      'setTrustedHosts',
      'enableKerberosDelegation',
      'verifyConnectivity',
    ]);
    // Overlap, not just order: the check was still out when the listener step closed.
    assert.ok(
      closedAt(events, scheduledIdOf(events, 'enableKerberosDelegation')) >
        closedAt(events, scheduledIdOf(events, 'ensureHttpsListener'))
    );
  });

  it('asks an operator only once the delegation check has settled, and an abort keeps what that check found', async () => {
    const spec = testFleet(1, { policy: DELEGATION_POLICY });
    const [{ fqdn, computerName }] = spec.servers;
    const estate = estateFor(spec);
    // A certificate without its private key: permanent at once, long before the DCs answer.
    estate.injectFault({ kind: 'error', code: 'CertNoPrivateKey', host: fqdn, script: 'Set-HttpsListener' });
    const runner = new LabRunner(estate, { latencyMs: (call) => (call.target.host === 'ad' ? 1_000 : 5) });
    const result = await withWorkers(env, runner, async () => {
      const fleet = await startFleet(env, spec, 'carol');
      const server: WorkflowHandle = env.client.workflow.getHandle(serverWorkflowId(fqdn));
      await waitFor(
        async () => (await server.query(serverStatusQuery).catch(() => undefined))?.phase === 'awaiting-operator',
        'the server waits for an operator'
      );
      await server.executeUpdate(resolveStepUpdate, {
        args: [{ action: 'abort', operator: 'dave', reason: 'account is being fixed' }],
      });
      await fleet.result();
      return (await server.result()) as ServerStatus;
    });
    assert.equal(result.phase, 'aborted');
    const delegation = result.steps.find((r) => r.step === 'enableKerberosDelegation');
    assert.equal(delegation?.status, 'approval-required', 'the check’s finding, not "running"');
    assert.match(delegation?.summary ?? '', /TrustedForDelegation/);
    assert.equal(estate.computer(computerName)?.trustedForDelegation, false, 'nothing applied without approval');

    const events = await historyOf(env, fqdn);
    const checkClosed = closedAt(events, scheduledIdOf(events, 'enableKerberosDelegation'));
    const [askedOperator] = phaseUpserts(events, 'awaiting-operator');
    assert.ok(askedOperator, 'the phase awaiting-operator was indexed');
    assert.ok(
      askedOperator > checkClosed,
      `the operator was asked (event ${askedOperator}) after the delegation check closed (event ${checkClosed})`
    );
    assert.ok(
      closedAt(events, scheduledIdOf(events, 'ensureHttpsListener')) < checkClosed,
      'the host step failed while the check was still out'
    );
  });
});
