/**
 * Fast recovery: a step activity heartbeats while its script runs, so a short heartbeat timeout never
 * takes a slow script for dead, and an attempt lost with a killed worker process is retried after that
 * timeout (10 s) instead of the old 5 minutes, once, and the server finishes as usual.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { temporal } from '@temporalio/proto';
import { MockActivityEnvironment } from '@temporalio/testing';
import { msToNumber } from '@temporalio/common/lib/time';
import { type NativeConnection, Worker } from '@temporalio/worker';
import { heartbeatIntervalMs } from '../activities/run-step';
import { createActivities } from '../activities';
import { adWorkerSettings, mainWorkerSettings } from '../workers/create-workers';
import { STEP_HEARTBEAT_TIMEOUT } from '../workflows/step-activities';
import { PROJECT_ROOT } from '../devserver/temporal-cli';
import { adTaskQueueFor, fleetTaskQueueFor, serverWorkflowId } from '../domain/ids';
import { contextOf, type StepOutcome, type StepRequest } from '../domain/onboarding';
import { LabRunner } from '../lab/lab-runner';
import type { PowerShellRunner } from '../runner/port';
import { estateFor, SAFE_POLICY } from './support/fleet-files';
import { startFleet, type TestEnv, testEnv, testFleet, workflowSource } from './support/temporal';

const { TimeoutType } = temporal.api.enums.v1;

describe('step activities heartbeat while a script runs', () => {
  it('beats on a timer during a slow script call and stops when the step ends', async () => {
    const spec = testFleet(1, { policy: SAFE_POLICY });
    const lab = new LabRunner(estateFor(spec));
    let pending = false;
    let beatsWhilePending = 0;
    let beatsAfter = 0;
    let done = false;
    // The read of the server takes ten heartbeat intervals.
    const slow: PowerShellRunner = {
      run: async (call) => {
        pending = true;
        await new Promise((r) => setTimeout(r, 500));
        pending = false;
        return lab.run(call);
      },
      close: () => lab.close(),
    };
    const activity = new MockActivityEnvironment({ heartbeatTimeoutMs: 150 });
    activity.on('heartbeat', () => {
      if (pending) beatsWhilePending += 1;
      if (done) beatsAfter += 1;
    });
    assert.equal(heartbeatIntervalMs(150), 50);
    const request: StepRequest = {
      fleetId: spec.fleetId,
      server: spec.servers[0],
      context: contextOf(spec),
      mode: 'apply',
    };
    const outcome: StepOutcome = await activity.run(createActivities(slow).preflight, request);
    done = true;
    assert.equal(outcome.status, 'compliant');
    // One beat as the call starts, then every 50 ms of its 500 ms; a loaded machine may delay a few.
    assert.ok(beatsWhilePending >= 4, `only ${beatsWhilePending} heartbeats during a 500 ms script call`);
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(beatsAfter, 0, 'the timer is stopped when the step ends');
  });

  it('reach Temporal at every beat: the workers hold none back longer than the step beats', () => {
    const timeoutMs = msToNumber(STEP_HEARTBEAT_TIMEOUT);
    const beatMs = heartbeatIntervalMs(timeoutMs);
    // The SDK would otherwise send one every 80% of the timeout, 2 s before a busy worker's live attempt
    // is taken for dead; this way three beats are sent in each timeout.
    assert.ok(3 * beatMs <= timeoutMs, `a beat every ${beatMs} ms, timeout ${timeoutMs} ms`);
    const wiring = { connection: {} as NativeConnection, namespace: 'default' };
    for (const [name, settings] of [
      ['main', mainWorkerSettings(wiring)],
      ['AD', adWorkerSettings(wiring)],
    ] as const) {
      const throttle = settings.maxHeartbeatThrottleInterval;
      assert.ok(throttle !== undefined, `the ${name} worker sets maxHeartbeatThrottleInterval`);
      assert.ok(msToNumber(throttle) <= beatMs, `the ${name} worker holds heartbeats back ${String(throttle)}`);
    }
  });

  it('the interval is a third of the heartbeat timeout, at most 10 s', () => {
    assert.equal(heartbeatIntervalMs(30_000), 10_000);
    assert.equal(heartbeatIntervalMs(300_000), 10_000);
    assert.equal(heartbeatIntervalMs(undefined), 10_000);
    assert.equal(heartbeatIntervalMs(3_000), 1_000);
  });
});

describe('a worker killed in the middle of a step', () => {
  let env: TestEnv;
  before(async () => {
    env = await testEnv();
  });
  after(async () => env.close());

  it('has its attempt retried after the heartbeat timeout by another worker, and the server is onboarded', async () => {
    const spec = testFleet(1, { policy: SAFE_POLICY });
    const estate = estateFor(spec);
    const fqdn = spec.servers[0].fqdn;
    const address = process.env.TEMPORAL_ADDRESS as string;
    // Workflows run in this process throughout (the fleet on its own queue, as npm run worker serves it);
    // activities first in a process of their own.
    const workflowsOn = (taskQueue: string) =>
      Worker.create({ connection: env.connection, namespace: 'default', taskQueue, ...workflowSource() });
    const workflows = await workflowsOn(env.taskQueue);
    const fleetWorkflows = await workflowsOn(fleetTaskQueueFor(env.taskQueue));
    await fleetWorkflows.runUntil(
      workflows.runUntil(async () => {
        const doomed = spawn(
          process.execPath,
          [
            '--import',
            'tsx',
            path.join(PROJECT_ROOT, 'test', 'support', 'hanging-step-worker.ts'),
            address,
            env.taskQueue,
          ],
          { cwd: PROJECT_ROOT, stdio: ['ignore', 'pipe', 'inherit'] }
        );
        const exited = new Promise<void>((resolve) => doomed.on('exit', () => resolve()));
        try {
          let out = '';
          const started = new Promise<string>((resolve, reject) => {
            doomed.stdout.on('data', (d: Buffer) => {
              out += d.toString();
              const m = /started (\w+)/.exec(out);
              if (m) resolve(m[1]);
            });
            doomed.on('exit', (code) => reject(new Error(`the worker process exited (${code}) before a step: ${out}`)));
          });
          const fleet = await startFleet(env, spec, 'carol');
          const step = await started;
          doomed.kill('SIGKILL');
          await exited;

          // A healthy worker takes over; nothing but the heartbeat timeout tells Temporal the first one died.
          const runner = new LabRunner(estate);
          const activities = createActivities(runner);
          const main = await Worker.create({ connection: env.connection, taskQueue: env.taskQueue, activities });
          const ad = await Worker.create({
            connection: env.connection,
            taskQueue: adTaskQueueFor(env.taskQueue),
            activities,
          });
          // The old 5-minute heartbeat timeout would miss this deadline; STEP_HEARTBEAT_TIMEOUT meets it under load.
          let deadline: NodeJS.Timeout | undefined;
          const result = await main
            .runUntil(
              ad.runUntil(
                Promise.race([
                  fleet.result(),
                  new Promise<never>((_, reject) => {
                    deadline = setTimeout(
                      () => reject(new Error('the fleet did not finish within 3 minutes')),
                      180_000
                    );
                  }),
                ])
              )
            )
            .finally(() => clearTimeout(deadline));
          assert.equal(result.servers[fqdn], 'onboarded');

          const history = await env.client.workflow.getHandle(serverWorkflowId(fqdn)).fetchHistory();
          const scheduled = (history.events ?? []).find(
            (e) => e.activityTaskScheduledEventAttributes?.activityType?.name === step
          );
          const timeout = scheduled?.activityTaskScheduledEventAttributes?.heartbeatTimeout;
          assert.ok(timeout && Number(timeout.seconds) <= 60, `heartbeat timeout ${JSON.stringify(timeout)}`);
          const startedEvent = (history.events ?? []).find(
            (e) => String(e.activityTaskStartedEventAttributes?.scheduledEventId) === String(scheduled?.eventId)
          );
          const attrs = startedEvent?.activityTaskStartedEventAttributes;
          assert.equal(attrs?.attempt, 2, 'the lost attempt was retried once');
          assert.equal(
            attrs?.lastFailure?.timeoutFailureInfo?.timeoutType,
            TimeoutType.TIMEOUT_TYPE_HEARTBEAT,
            `the first attempt ended by its heartbeat timeout: ${JSON.stringify(attrs?.lastFailure)}`
          );
        } finally {
          if (doomed.exitCode === null && doomed.signalCode === null) doomed.kill('SIGKILL');
        }
      })
    );
  });
});
