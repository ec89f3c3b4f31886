/**
 * `fleet rotation schedule|status|pause|resume|trigger|delete` and `fleet audit run|schedule`:
 * the monthly certificate rotation and the drift audit, as Temporal Schedules.
 */
import type { Command } from 'commander';
import { auditWorkflowId, rotationScheduleId, rotationWorkflowId } from '../../domain/ids';
import type { FleetSpec } from '../../domain/fleet';
import type { AuditReport } from '../../domain/rotation';
import { auditFleet, rotateCertificates } from '../../workflows';
import { durationSchema } from '../../domain/validators';
import { usageError } from '../cli-error';
import { currentPerson, type CliContext } from '../connect';
import { readFleetFile } from '../fleet-file';
import {
  checkTimezone,
  describeSchedule,
  scheduledRunsUrl,
  scheduleSummary,
  scheduleUrl,
  upsertMonthlySchedule,
} from '../schedules';

/** The schedule's own page and the list of the runs it started, in the Web UI. */
function printScheduleLinks(ctx: CliContext, scheduleId: string): void {
  console.log(`  schedule: ${scheduleUrl(ctx.uiUrl, ctx.env.TEMPORAL_NAMESPACE, scheduleId)}`);
  console.log(`  its runs: ${scheduledRunsUrl(ctx.uiUrl, ctx.env.TEMPORAL_NAMESPACE, scheduleId)}`);
}

type WithClient = (action: (ctx: CliContext) => Promise<number>) => Promise<void>;

function durationOption(name: string) {
  return (raw: string): number => {
    const parsed = durationSchema.safeParse(raw);
    if (!parsed.success) throw usageError(`${name}: ${parsed.error.issues[0]?.message ?? 'not a duration'}`);
    return parsed.data;
  };
}

function intOption(name: string, min: number, max: number) {
  return (raw: string): number => {
    const n = Number(raw);
    if (!Number.isInteger(n) || n < min || n > max)
      throw usageError(`${name} must be a whole number from ${min} to ${max}, got ${JSON.stringify(raw)}`);
    return n;
  };
}

interface ScheduleOpts {
  as?: string;
  timezone: string;
  day: number;
  hour: number;
  catchupWindow: number;
}

function addScheduleOptions(cmd: Command): Command {
  return cmd
    .option('--as <person>', 'who sets up the schedule (default: FLEET_USER or your login name)')
    .option('--timezone <iana>', 'time zone of the schedule', 'UTC')
    .option('--day <1-28>', 'day of the month', intOption('--day', 1, 28), 1)
    .option('--hour <0-23>', 'hour of the day', intOption('--hour', 0, 23), 3)
    .option(
      '--catchup-window <duration>',
      'missed runs within this window still run after an outage (e.g. 1d, 12h)',
      durationOption('--catchup-window'),
      86_400_000
    );
}

/** Static details of a scheduled run: what it does and to which servers, in the Web UI's compact style. */
function scheduledRunDetails(spec: FleetSpec, what: string): string {
  const approvers = spec.approvers.map((a) => `\`${a}\``).join(', ');
  return `${what}. Fleet \`${spec.fleetId}\`: ${spec.servers.length} servers, at most ${spec.settings.maxParallel} at once; approvers ${approvers}.\n`;
}

function auditScheduleId(fleetId: string): string {
  return `${auditWorkflowId(fleetId)}/schedule`;
}

function printAudit(report: AuditReport): void {
  const drifted = Object.entries(report.drifted);
  for (const [fqdn, findings] of drifted) {
    console.log(`${fqdn}: DRIFT`);
    for (const f of findings) console.log(`  ${f.step}: ${f.summary}`);
  }
  console.log(
    `audit of ${report.fleetId}: ${drifted.length} drifted, ${report.compliant.length} compliant, ${report.notApplicable.length} not applicable`
  );
}

export function registerRotationCommands(program: Command, withClient: WithClient): void {
  const rotation = program
    .command('rotation')
    .description('monthly WinRM listener certificate rotation (a Temporal Schedule)');

  addScheduleOptions(
    rotation
      .command('schedule')
      .description('create or update the rotation schedule of a fleet (idempotent): monthly, day 1 at 03:00 by default')
      .argument('<fleet.yaml>')
  ).action((file: string, o: ScheduleOpts) =>
    withClient(async (ctx) => {
      const spec = readFleetFile(file);
      const created = await upsertMonthlySchedule(ctx.client, {
        scheduleId: rotationScheduleId(spec.fleetId),
        fleetId: spec.fleetId,
        summary: `Certificate rotation of fleet ${spec.fleetId}`,
        details: scheduledRunDetails(
          spec,
          'Renews each HTTPS listener certificate that is due; rolls back one that fails'
        ),
        dayOfMonth: o.day,
        hour: o.hour,
        timezone: checkTimezone(o.timezone),
        catchupWindow: o.catchupWindow,
        note: `certificate rotation of fleet ${spec.fleetId}`,
        action: {
          type: 'startWorkflow',
          workflowType: rotateCertificates,
          // Whoever sets up the schedule requested its runs: they cannot approve a self-signed rotation.
          args: [{ spec, requestedBy: currentPerson(o.as) }],
          taskQueue: ctx.env.TEMPORAL_TASK_QUEUE,
          workflowId: rotationWorkflowId(spec.fleetId),
        },
      });
      console.log(`${created ? 'created' : 'updated'} schedule ${rotationScheduleId(spec.fleetId)}`);
      console.log(scheduleSummary(await describeSchedule(ctx.client, rotationScheduleId(spec.fleetId))));
      printScheduleLinks(ctx, rotationScheduleId(spec.fleetId));
      return 0;
    })
  );

  rotation
    .command('status')
    .description('the schedule: paused or active, next and recent runs')
    .argument('<fleetId>')
    .action((fleetId: string) =>
      withClient(async (ctx) => {
        console.log(scheduleSummary(await describeSchedule(ctx.client, rotationScheduleId(fleetId))));
        printScheduleLinks(ctx, rotationScheduleId(fleetId));
        return 0;
      })
    );

  const simple: Array<['pause' | 'resume' | 'trigger' | 'delete', string]> = [
    ['pause', 'pause the schedule (no rotation until resumed)'],
    ['resume', 'resume a paused schedule'],
    ['trigger', 'start a rotation now'],
    ['delete', 'delete the schedule (running rotations go on)'],
  ];
  for (const [name, description] of simple) {
    rotation
      .command(name)
      .description(description)
      .argument('<fleetId>')
      .option('--reason <text>', 'note recorded on the schedule')
      .action((fleetId: string, o: { reason?: string }) =>
        withClient(async (ctx) => {
          const id = rotationScheduleId(fleetId);
          await describeSchedule(ctx.client, id); // a clear "no schedule" first
          const handle = ctx.client.schedule.getHandle(id);
          if (name === 'pause') await handle.pause(o.reason ?? 'paused with fleet rotation pause');
          if (name === 'resume') await handle.unpause(o.reason ?? 'resumed with fleet rotation resume');
          if (name === 'trigger') await handle.trigger();
          if (name === 'delete') await handle.delete();
          console.log(`${name}: done for ${id}`);
          return 0;
        })
      );
  }

  const audit = program
    .command('audit')
    .description('read-only drift audit: compare every server with the onboarded state');
  audit
    .command('run')
    .description('audit a fleet now and print what drifted (exit 1 when something did)')
    .argument('<fleet.yaml>')
    .option('--json', 'print JSON', false)
    .action((file: string, o: { json: boolean }) =>
      withClient(async (ctx) => {
        const spec = readFleetFile(file);
        const report = await ctx.client.workflow.execute(auditFleet, {
          workflowId: `${auditWorkflowId(spec.fleetId)}/${Date.now()}`,
          taskQueue: ctx.env.TEMPORAL_TASK_QUEUE,
          args: [{ spec }],
          staticSummary: `Drift audit of fleet ${spec.fleetId}`,
        });
        if (o.json) console.log(JSON.stringify(report, null, 2));
        else printAudit(report);
        return Object.keys(report.drifted).length > 0 ? 1 : 0;
      })
    );
  addScheduleOptions(
    audit
      .command('schedule')
      .description('create or update a monthly audit schedule (idempotent)')
      .argument('<fleet.yaml>')
  ).action((file: string, o: ScheduleOpts) =>
    withClient(async (ctx) => {
      const spec = readFleetFile(file);
      const id = auditScheduleId(spec.fleetId);
      const created = await upsertMonthlySchedule(ctx.client, {
        scheduleId: id,
        fleetId: spec.fleetId,
        summary: `Drift audit of fleet ${spec.fleetId} (read only)`,
        details: scheduledRunDetails(spec, 'Plans every step on every server and reports drift; changes nothing'),
        dayOfMonth: o.day,
        hour: o.hour,
        timezone: checkTimezone(o.timezone),
        catchupWindow: o.catchupWindow,
        note: `drift audit of fleet ${spec.fleetId}`,
        action: {
          type: 'startWorkflow',
          workflowType: auditFleet,
          args: [{ spec }],
          taskQueue: ctx.env.TEMPORAL_TASK_QUEUE,
          workflowId: auditWorkflowId(spec.fleetId),
        },
      });
      console.log(`${created ? 'created' : 'updated'} schedule ${id}`);
      console.log(scheduleSummary(await describeSchedule(ctx.client, id)));
      printScheduleLinks(ctx, id);
      return 0;
    })
  );
}
