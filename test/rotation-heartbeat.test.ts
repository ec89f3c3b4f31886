/**
 * The rotation's listener activity uses the steps' shared heartbeat timeout (workflows/step-activities.ts),
 * so an attempt lost with its worker is retried within that time, as in onboarding, not after 5 minutes.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { msToNumber, tsToMs } from '@temporalio/common/lib/time';
import { rotationWorkflowId } from '../domain/ids';
import { LabRunner } from '../lab/lab-runner';
import { rotateCertificates } from '../workflows';
import { STEP_HEARTBEAT_TIMEOUT } from '../workflows/step-activities';
import { estateFor } from './support/fleet-files';
import { testEnv, testFleet, withWorkers, type TestEnv } from './support/temporal';

describe('certificate rotation heartbeats', () => {
  let env: TestEnv;
  before(async () => {
    env = await testEnv();
  });
  after(async () => env.close());

  it('schedules the listener activity with STEP_HEARTBEAT_TIMEOUT', async () => {
    const spec = testFleet(1);
    const estate = estateFor(spec, ['onboarded']);
    const handle = await withWorkers(env, new LabRunner(estate), async () => {
      const started = await env.client.workflow.start(rotateCertificates, {
        workflowId: `${rotationWorkflowId(spec.fleetId)}/heartbeat`,
        taskQueue: env.taskQueue,
        args: [{ spec, requestedBy: 'schedule' }],
      });
      await started.result();
      return started;
    });
    const history = await handle.fetchHistory();
    const timeouts = (history.events ?? [])
      .map((e) => e.activityTaskScheduledEventAttributes?.heartbeatTimeout)
      .filter((t) => t !== undefined && t !== null);
    assert.ok(timeouts.length > 0, 'the rotation scheduled a listener activity');
    for (const t of timeouts) assert.equal(tsToMs(t), msToNumber(STEP_HEARTBEAT_TIMEOUT), JSON.stringify(t));
  });
});
