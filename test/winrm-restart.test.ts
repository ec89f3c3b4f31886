/**
 * Issue 11 items 2 and 12: enabling remoting restarts WinRM. The step schedules the restarting commands in
 * a one-shot task that runs after its script has returned; the lab runs that task when the next session
 * reaches the host, and WinRM then refuses sessions for a while (lab/estate.ts winrmRefusal) with the text
 * and code Windows gives. A server in that situation must still end onboarded, by retries of the step.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { ServerStatus } from '../domain/status';
import { fleetWorkflowId, serverWorkflowId } from '../domain/ids';
import { LabRunner } from '../lab/lab-runner';
import { ScriptFailure } from '../runner/port';
import { onboardFleet } from '../workflows';
import { estateFor, SAFE_POLICY } from './support/fleet-files';
import { testEnv, testFleet, withWorkers, type TestEnv } from './support/temporal';
import { callFor, fleet } from './lab-fixtures';

const FQDN = 'exch01.corp.example';

async function refusal(promise: Promise<unknown>): Promise<ScriptFailure> {
  try {
    await promise;
  } catch (err) {
    assert.ok(err instanceof ScriptFailure, `expected a ScriptFailure, got ${String(err)}`);
    return err;
  }
  assert.fail('expected the session to be refused');
}

describe('the lab: WinRM restarting after the Enable-Remoting task', () => {
  it('runs the task when the next session arrives, refuses that many sessions with the real error, then answers', async () => {
    const spec = fleet([FQDN]);
    const estate = estateFor(spec, { [FQDN]: 'remoting-disabled' });
    const runner = new LabRunner(estate);
    const apply = await runner.run(callFor(spec, 'enableRemoting', 'apply'));
    assert.equal(apply.evidence.scheduledTask, '\\Monosync\\Enable-Remoting');
    const host = estate.host(FQDN);
    assert.equal(host.sessionConfiguration.endpointsEnabled, false, 'nothing restarted under the apply');
    assert.equal(host.scheduledTasks?.length, 1);

    // Any step's session meets the restart, not only this step's.
    for (const step of ['enableRemoting', 'setCbtHardening'] as const) {
      const refused = await refusal(runner.run(callFor(spec, step, 'plan')));
      assert.equal(refused.kind.type, 'WinRMUnavailable');
      assert.equal(refused.kind.retry, 'transient');
      assert.match(refused.message, /The client cannot connect to the destination specified in the request/);
    }
    assert.deepEqual(host.scheduledTasks, [], 'the task unregistered itself');
    assert.equal(host.sessionConfiguration.endpointsEnabled, true);
    assert.deepEqual(host.sessionConfiguration.disabledByAdmin, ['microsoft.powershell32']);

    const verify = await runner.run(callFor(spec, 'enableRemoting', 'plan'));
    assert.equal(verify.compliant, true);
    assert.equal(estate.counters(FQDN)['Enable-Remoting']?.faults, 1);
    assert.equal(estate.counters(FQDN)['Set-CbtHardening']?.faults, 1);
  });

  it('estate.execute alone (the script contract) never runs the task: it stays pending', () => {
    const spec = fleet([FQDN]);
    const estate = estateFor(spec, { [FQDN]: 'remoting-disabled' });
    estate.execute(callFor(spec, 'enableRemoting', 'apply'));
    const outcome = estate.execute(callFor(spec, 'enableRemoting', 'plan'));
    assert.equal(outcome.kind === 'envelope' && outcome.envelope.error?.code, 'WinRMUnavailable');
    assert.equal(estate.host(FQDN).scheduledTasks?.[0]?.state, 'Running');
  });
});

describe('onboarding through a WinRM restart', () => {
  let env: TestEnv;
  before(async () => {
    env = await testEnv();
  });
  after(async () => env.close());

  it('the server ends onboarded, the remoting step retried while WinRM did not answer', async () => {
    const spec = testFleet(1, {
      policy: SAFE_POLICY,
      settings: { stepRetry: { initialInterval: '100ms', maximumAttempts: 6 } },
    });
    const fqdn = spec.servers[0].fqdn;
    const estate = estateFor(spec, { [fqdn]: 'remoting-disabled' });
    const result = await withWorkers(env, new LabRunner(estate), () =>
      env.client.workflow.execute(onboardFleet, {
        workflowId: fleetWorkflowId(spec.fleetId),
        taskQueue: env.taskQueue,
        args: [{ spec, requestedBy: 'carol' }],
      })
    );
    assert.equal(result.servers[fqdn], 'onboarded');

    const host = estate.host(fqdn);
    assert.equal(host.sessionConfiguration.endpointsEnabled, true);
    assert.ok(host.listeners.some((l) => l.transport === 'HTTP' && l.enabled));
    assert.deepEqual(host.sessionConfiguration.disabledByAdmin, ['microsoft.powershell32'], 'left as the admin chose');
    assert.deepEqual(host.scheduledTasks, []);
    assert.equal(estate.counters(fqdn)['Enable-Remoting']?.faults, 2, 'two sessions refused while WinRM restarted');

    const server = env.client.workflow.getHandle(serverWorkflowId(fqdn));
    const status = (await server.result()) as ServerStatus;
    const record = status.steps.find((s) => s.step === 'enableRemoting');
    assert.equal(record?.status, 'changed');
    assert.equal(record?.changed, true);

    const history = await server.fetchHistory();
    const scheduled = (history.events ?? []).find(
      (e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'enableRemoting'
    );
    const started = (history.events ?? []).find(
      (e) => String(e.activityTaskStartedEventAttributes?.scheduledEventId) === String(scheduled?.eventId)
    )?.activityTaskStartedEventAttributes;
    assert.equal(started?.attempt, 3, 'the verify of attempt 1 and the check of attempt 2 met the restart');
    assert.equal(started?.lastFailure?.applicationFailureInfo?.type, 'WinRMUnavailable');
    assert.match(started?.lastFailure?.message ?? '', /The client cannot connect to the destination/);
  });
});
