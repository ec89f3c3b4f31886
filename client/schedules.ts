/** Creates or updates a Temporal Schedule idempotently: same id, latest spec and action. */
import {
  ScheduleAlreadyRunning,
  ScheduleNotFoundError,
  ScheduleOverlapPolicy,
  type Client,
  type ScheduleDescription,
  type ScheduleOptionsStartWorkflowAction,
  type Workflow,
} from '@temporalio/client';
import { FleetKey } from '../domain/search-attributes';
import { CliError } from './cli-error';

interface MonthlySchedule {
  scheduleId: string;
  /** Set on every workflow the schedule starts (MonosyncFleet), so the UI's fleet filter finds them. */
  fleetId: string;
  /** The started workflows' summary in the Web UI. */
  summary: string;
  /** The started workflows' static details in the Web UI (Markdown). */
  details: string;
  dayOfMonth: number;
  hour: number;
  timezone: string;
  /** Milliseconds. */
  catchupWindow: number;
  note: string;
  action: ScheduleOptionsStartWorkflowAction<Workflow>;
}

export function checkTimezone(timezone: string): string {
  try {
    new Intl.DateTimeFormat('en', { timeZone: timezone });
    return timezone;
  } catch {
    throw new CliError(`--timezone ${JSON.stringify(timezone)} is not an IANA time zone (e.g. UTC, Europe/Berlin)`, 2);
  }
}

/** Returns whether the schedule was created (true) or updated (false). */
export async function upsertMonthlySchedule(client: Client, s: MonthlySchedule): Promise<boolean> {
  const spec = { calendars: [{ dayOfMonth: s.dayOfMonth, hour: s.hour, minute: 0 }], timezone: s.timezone };
  const action: ScheduleOptionsStartWorkflowAction<Workflow> = {
    ...s.action,
    typedSearchAttributes: [{ key: FleetKey, value: s.fleetId }],
    staticSummary: s.summary,
    staticDetails: s.details,
  };
  // Skip, not buffer: a rotation still running (waiting for an approval) must not be stacked.
  const policies = { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: s.catchupWindow };
  try {
    await client.schedule.create({
      scheduleId: s.scheduleId,
      spec,
      action,
      policies,
      state: { note: s.note },
    });
    return true;
  } catch (err) {
    if (!(err instanceof ScheduleAlreadyRunning)) throw err;
  }
  await client.schedule.getHandle(s.scheduleId).update((previous) => ({
    ...previous,
    spec,
    action,
    policies: { ...previous.policies, ...policies },
  }));
  return false;
}

export async function describeSchedule(client: Client, scheduleId: string): Promise<ScheduleDescription> {
  try {
    return await client.schedule.getHandle(scheduleId).describe();
  } catch (err) {
    if (err instanceof ScheduleNotFoundError) {
      throw new CliError(`no schedule ${scheduleId}: create it with \`fleet rotation schedule <fleet.yaml>\``, 3);
    }
    throw err;
  }
}

/** A duration in the largest whole unit that fits: `1 day`, `36 hours`, `90 minutes`, `45 seconds`. */
export function humanDuration(ms: number): string {
  const units: Array<[string, number]> = [
    ['day', 86_400_000],
    ['hour', 3_600_000],
    ['minute', 60_000],
    ['second', 1000],
  ];
  for (const [unit, size] of units) {
    if (ms >= size && ms % size === 0) {
      const n = ms / size;
      return `${n} ${unit}${n === 1 ? '' : 's'}`;
    }
  }
  return `${ms} ms`;
}

/** The schedule's own page in the Web UI. */
export function scheduleUrl(uiUrl: string, namespace: string, scheduleId: string): string {
  return `${uiUrl}/namespaces/${encodeURIComponent(namespace)}/schedules/${encodeURIComponent(scheduleId)}`;
}

/** The Web UI's list of the workflows a schedule started (Temporal sets TemporalScheduledById on them). */
export function scheduledRunsUrl(uiUrl: string, namespace: string, scheduleId: string): string {
  const query = `TemporalScheduledById="${scheduleId}"`;
  return `${uiUrl}/namespaces/${encodeURIComponent(namespace)}/workflows?query=${encodeURIComponent(query)}`;
}

/** A described calendar field (ranges like `[{ start: 1, end: 1, step: 1 }]`) as `1`, `1-5` or `1,15`. */
function calendarField(field: unknown): string {
  const parts = Array.isArray(field) ? (field as unknown[]) : [field];
  return parts
    .map((p) => {
      if (typeof p !== 'object' || p === null || !('start' in p)) return String(p);
      const r = p as { start: unknown; end?: unknown };
      return r.end === undefined || r.end === r.start ? String(r.start) : `${String(r.start)}-${String(r.end)}`;
    })
    .join(',');
}

export function scheduleSummary(d: ScheduleDescription): string {
  const cal = d.spec.calendars?.[0];
  const when = cal
    ? `day ${calendarField(cal.dayOfMonth)} at ${calendarField(cal.hour).padStart(2, '0')}:00`
    : 'custom';
  return [
    `schedule ${d.scheduleId}: ${d.state.paused ? 'PAUSED' : 'active'}${d.state.note ? ` (${d.state.note})` : ''}`,
    `  when: ${when} ${d.spec.timezone ?? 'UTC'}, overlap ${d.policies.overlap}, catch-up window ${humanDuration(Number(d.policies.catchupWindow))}`,
    `  next: ${
      d.info.nextActionTimes
        .slice(0, 3)
        .map((t) => t.toISOString())
        .join(', ') || 'none'
    }`,
    `  recent: ${d.info.recentActions.map((a) => `${a.takenAt.toISOString()} ${a.action.workflow.workflowId}`).join(', ') || 'none yet'}`,
  ].join('\n');
}
