/** `fleet rotation schedule|status|pause|resume|trigger|delete` through the CLI, on the dev server. */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ScheduleNotFoundError, ScheduleOverlapPolicy } from '@temporalio/client';
import { rotationScheduleId, rotationWorkflowId } from '../domain/ids';
import type { RotationReport } from '../domain/rotation';
import { FleetKey } from '../domain/search-attributes';
import { LabRunner } from '../lab/lab-runner';
import { runCli } from './support/cli';
import { estateFor, writeFleetFile } from './support/fleet-files';
import { testEnv, testFleet, withWorkers, type TestEnv } from './support/temporal';
import { waitFor } from './support/wait';

/** The single value a calendar field holds, whether described as a number or as ranges. */
function single(field: unknown): unknown {
  const first: unknown = Array.isArray(field) ? field[0] : field;
  if (typeof first === 'object' && first !== null && 'start' in first) {
    const r = first as { start: number; end?: number };
    assert.ok(r.end === undefined || r.end === r.start, `one value, not a range: ${JSON.stringify(field)}`);
    return r.start;
  }
  return first;
}

function workflowIdPattern(id: string): string {
  return id.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}

describe('rotation schedule through the CLI', () => {
  let env: TestEnv;
  const created: string[] = [];
  before(async () => {
    env = await testEnv();
  });
  after(async () => {
    for (const id of created)
      await env.client.schedule
        .getHandle(id)
        .delete()
        .catch(() => undefined);
    await env.close();
  });

  it('schedule is idempotent (latest spec wins); trigger, pause, resume, status and delete act on it', async () => {
    const spec = testFleet(2);
    const [expiring, healthy] = spec.servers.map((s) => s.fqdn);
    const file = writeFleetFile(spec);
    const id = rotationScheduleId(spec.fleetId);
    created.push(id);
    const cli = (...args: string[]) => runCli(args, { TEMPORAL_TASK_QUEUE: env.taskQueue });

    const first = await cli('rotation', 'schedule', file);
    assert.equal(first.code, 0, first.stderr);
    assert.match(first.stdout, new RegExp(`created schedule ${id}`));
    const second = await cli(
      'rotation',
      'schedule',
      file,
      '--timezone',
      'Europe/Berlin',
      '--hour',
      '5',
      '--catchup-window',
      '12h'
    );
    assert.equal(second.code, 0, second.stderr);
    assert.match(second.stdout, new RegExp(`updated schedule ${id}`));
    assert.match(second.stdout, /Europe\/Berlin/);

    const handle = env.client.schedule.getHandle(id);
    const described = await handle.describe();
    assert.equal(described.spec.calendars?.length, 1);
    const cal = described.spec.calendars?.[0];
    assert.equal(single(cal?.dayOfMonth), 1);
    assert.equal(single(cal?.hour), 5);
    assert.equal(single(cal?.minute), 0);
    assert.equal(described.spec.timezone, 'Europe/Berlin');
    assert.equal(described.policies.overlap, ScheduleOverlapPolicy.SKIP);
    assert.equal(described.policies.catchupWindow, 12 * 3_600_000);
    assert.equal(described.state.paused, false);
    assert.equal(described.action.type, 'startWorkflow');
    if (described.action.type === 'startWorkflow') {
      assert.equal(described.action.workflowType, 'rotateCertificates');
      assert.equal(described.action.taskQueue, env.taskQueue);
      assert.equal(described.action.workflowId, rotationWorkflowId(spec.fleetId));
    }
    // One schedule for the fleet, however often `schedule` ran (the list is eventually consistent).
    await waitFor(
      async () => {
        let n = 0;
        for await (const s of env.client.schedule.list()) if (s.scheduleId === id) n++;
        return n === 1 ? n : undefined;
      },
      'the schedule is listed',
      30_000
    );
    let listed = 0;
    for await (const s of env.client.schedule.list())
      if (s.scheduleId.startsWith(rotationScheduleId(spec.fleetId))) listed++;
    assert.equal(listed, 1, 'exactly one rotation schedule for the fleet');

    // trigger: the rotation runs now, on our workers, against the lab.
    const estate = estateFor(spec, { [expiring]: 'expiring-cert', [healthy]: 'onboarded' });
    const report = await withWorkers(env, new LabRunner(estate), async () => {
      const trigger = await cli('rotation', 'trigger', spec.fleetId);
      assert.equal(trigger.code, 0, trigger.stderr);
      assert.match(trigger.stdout, /trigger: done/);
      const workflowId = await waitFor(
        async () => {
          const d = await handle.describe();
          const action = [...d.info.runningActions, ...d.info.recentActions.map((a) => a.action)][0];
          return action?.workflow.workflowId;
        },
        'the triggered rotation starts',
        30_000
      );
      assert.ok(
        workflowId.startsWith(rotationWorkflowId(spec.fleetId)),
        `${workflowId} is a rotation of ${spec.fleetId}`
      );
      const run = env.client.workflow.getHandle(workflowId);
      const described = await run.describe();
      assert.equal(described.type, 'rotateCertificates');
      // The schedule names its runs and tags them with the fleet, so the UI's fleet filter finds them.
      assert.equal(described.typedSearchAttributes.get(FleetKey), spec.fleetId);
      assert.equal((await described.staticSummary()) ?? '', `Certificate rotation of fleet ${spec.fleetId}`);
      // …and says in its details what it does to how many servers (the UI showed "No details available").
      assert.match(
        (await described.staticDetails()) ?? '',
        new RegExp(
          `^Renews each HTTPS listener certificate .*Fleet \`${spec.fleetId}\`: ${spec.servers.length} servers`
        )
      );
      return (await run.result()) as RotationReport;
    });
    assert.equal(report.fleetId, spec.fleetId);
    assert.equal(report.done, true);
    assert.equal(report.results[expiring].outcome, 'rotated');
    assert.equal(report.results[healthy].outcome, 'still-valid');
    assert.equal(
      estate.host(expiring).listeners.find((l) => l.transport === 'HTTPS')?.thumbprint,
      report.results[expiring].to
    );

    // pause / resume / status
    const pause = await cli('rotation', 'pause', spec.fleetId, '--reason', 'change freeze');
    assert.equal(pause.code, 0, pause.stderr);
    assert.equal((await handle.describe()).state.paused, true);
    const paused = await cli('rotation', 'status', spec.fleetId);
    assert.equal(paused.code, 0, paused.stderr);
    assert.match(paused.stdout, /PAUSED/);
    assert.match(paused.stdout, /change freeze/);

    const resume = await cli('rotation', 'resume', spec.fleetId);
    assert.equal(resume.code, 0, resume.stderr);
    assert.equal((await handle.describe()).state.paused, false);
    const active = await cli('rotation', 'status', spec.fleetId);
    assert.equal(active.code, 0, active.stderr);
    assert.match(active.stdout, /: active/);
    assert.match(active.stdout, /when: day 1 at 05:00 Europe\/Berlin, overlap SKIP, catch-up window 12 hours/);
    // Links to the schedule's own page and to the runs it started, not to the list of all schedules.
    assert.match(
      active.stdout,
      new RegExp(`schedule: http\\S+/schedules/${encodeURIComponent(rotationScheduleId(spec.fleetId))}\\n`)
    );
    assert.match(active.stdout, /its runs: http\S+\/workflows\?query=TemporalScheduledById/);
    assert.match(active.stdout, new RegExp(`recent: .*${workflowIdPattern(rotationWorkflowId(spec.fleetId))}`));
    assert.doesNotMatch(active.stdout, /PAUSED/);

    // delete
    const deleted = await cli('rotation', 'delete', spec.fleetId);
    assert.equal(deleted.code, 0, deleted.stderr);
    await assert.rejects(handle.describe(), ScheduleNotFoundError);
    const gone = await cli('rotation', 'status', spec.fleetId);
    assert.equal(gone.code, 3);
  });

  it('an unknown fleet exits 3 with a clear message', async () => {
    for (const command of ['status', 'pause', 'resume', 'trigger', 'delete']) {
      const result = await runCli(['rotation', command, 'no-such-fleet-anywhere']);
      assert.equal(result.code, 3, `${command}: ${result.stdout}${result.stderr}`);
      assert.match(result.stderr, /no schedule rotate-certificates\/no-such-fleet-anywhere/);
      assert.match(result.stderr, /fleet rotation schedule/);
    }
  });

  it('a bad --timezone exits 2 and creates nothing', async () => {
    const spec = testFleet(1);
    const file = writeFleetFile(spec);
    created.push(rotationScheduleId(spec.fleetId));
    const result = await runCli(['rotation', 'schedule', file, '--timezone', 'Mars/Olympus_Mons']);
    assert.equal(result.code, 2, result.stdout + result.stderr);
    assert.match(result.stderr, /--timezone "Mars\/Olympus_Mons" is not an IANA time zone/);
    await assert.rejects(
      env.client.schedule.getHandle(rotationScheduleId(spec.fleetId)).describe(),
      ScheduleNotFoundError
    );
  });
});
