/**
 * The benchmark's arithmetic, kept pure so test/bench-figures.test.ts can check it without a server:
 * the remote-call floor, ratios, servers in flight over time (from samples), and what a workflow
 * history says about its workflow tasks and events.
 */
import { temporal } from '@temporalio/proto';
import { tsToMs } from '@temporalio/common/lib/time';

type History = temporal.api.history.v1.IHistory;
const { EventType } = temporal.api.enums.v1;

export interface FloorShape {
  servers: number;
  maxParallel: number;
  adBudget: number;
  /** Script calls per server, all targets (AD included): each one costs `latencyMs` of remote time. */
  callsPerServer: number;
  /** Of those, the calls against the domain controllers, which only `adBudget` may run at once. */
  adCallsPerServer: number;
  latencyMs: number;
}

/**
 * The least wall time the shape allows if the orchestration cost nothing: servers go through in
 * waves of `maxParallel`, each spending its calls back to back, and AD calls go through in waves of
 * `adBudget`. Whichever limit is tighter sets the floor: max(ceil(N/C)·calls·L, ceil(N/C_AD)·AD calls·L).
 */
export function remoteCallFloorMs(s: FloorShape): number {
  const byServers = Math.ceil(s.servers / s.maxParallel) * s.callsPerServer * s.latencyMs;
  const byAd = s.adCallsPerServer > 0 ? Math.ceil(s.servers / s.adBudget) * s.adCallsPerServer * s.latencyMs : 0;
  return Math.max(byServers, byAd);
}

/** a / b, or null when b is zero (a floor of 0 ms at latency 0 has no meaningful ratio). */
export function ratio(a: number, b: number): number | null {
  return b > 0 ? a / b : null;
}

export interface InFlightSample {
  /** Milliseconds since the run started. */
  atMs: number;
  count: number;
}

export interface InFlightStats {
  /** Time-weighted mean: each sample holds until the next one (the last until `endMs`). */
  mean: number;
  max: number;
  /** The time-weighted mean in each of `buckets` equal slices of the run, to show the shape over time. */
  series: number[];
}

export function inFlightStats(samples: InFlightSample[], endMs: number, buckets = 10): InFlightStats {
  const sorted = [...samples].sort((a, b) => a.atMs - b.atMs);
  const max = sorted.reduce((m, s) => Math.max(m, s.count), 0);
  if (sorted.length === 0 || endMs <= 0) return { mean: 0, max, series: Array.from({ length: buckets }, () => 0) };
  const weighted = (from: number, to: number): number => {
    let area = 0;
    for (let i = 0; i < sorted.length; i++) {
      const start = Math.max(sorted[i].atMs, from);
      const end = Math.min(i + 1 < sorted.length ? sorted[i + 1].atMs : endMs, to);
      if (end > start) area += sorted[i].count * (end - start);
    }
    return to > from ? area / (to - from) : 0;
  };
  const slice = endMs / buckets;
  return {
    mean: weighted(0, endMs),
    max,
    series: Array.from({ length: buckets }, (_, i) => weighted(i * slice, (i + 1) * slice)),
  };
}

export interface WorkflowTaskTimes {
  /** WorkflowTaskStarted -> WorkflowTaskCompleted, per completed task: the worker's time on it. */
  runMs: number[];
  /** WorkflowTaskScheduled -> WorkflowTaskStarted: how long the task waited for a worker slot/poller. */
  waitMs: number[];
}

/** Workflow task times from a history's event timestamps (a task that failed or timed out is left out). */
export function workflowTaskTimes(history: History): WorkflowTaskTimes {
  const times = new Map<string, number>();
  const out: WorkflowTaskTimes = { runMs: [], waitMs: [] };
  for (const e of history.events ?? []) {
    const at = tsToMs(e.eventTime);
    if (e.eventType === EventType.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED) times.set(`s${String(e.eventId)}`, at);
    const started = e.workflowTaskStartedEventAttributes;
    if (started) {
      times.set(`t${String(e.eventId)}`, at);
      const scheduled = times.get(`s${String(started.scheduledEventId)}`);
      if (scheduled !== undefined) out.waitMs.push(at - scheduled);
    }
    const completed = e.workflowTaskCompletedEventAttributes;
    if (completed) {
      const start = times.get(`t${String(completed.startedEventId)}`);
      if (start !== undefined) out.runMs.push(at - start);
    }
  }
  return out;
}

/**
 * A run's end retried because events arrived while its last task ran (Temporal fails a workflow task
 * that completes or continues as new with UNHANDLED_COMMAND, and the worker replays the whole run to
 * try again): the tasks so failed, and the time from the first of them starting to the run's end,
 * during which the run starts nothing.
 */
export interface EndRetries {
  failedTasks: number;
  lostMs: number;
}

export function endRetries(history: History): EndRetries {
  const started = new Map<string, number>();
  let failedTasks = 0;
  let firstAt: number | undefined;
  let endAt: number | undefined;
  const unhandled = temporal.api.enums.v1.WorkflowTaskFailedCause.WORKFLOW_TASK_FAILED_CAUSE_UNHANDLED_COMMAND;
  for (const e of history.events ?? []) {
    const at = tsToMs(e.eventTime);
    if (e.workflowTaskStartedEventAttributes) started.set(String(e.eventId), at);
    const failed = e.workflowTaskFailedEventAttributes;
    if (failed?.cause === unhandled) {
      failedTasks += 1;
      firstAt ??= started.get(String(failed.startedEventId)) ?? at;
    }
    if (e.workflowExecutionContinuedAsNewEventAttributes || e.workflowExecutionCompletedEventAttributes) endAt = at;
  }
  return { failedTasks, lostMs: firstAt !== undefined && endAt !== undefined ? endAt - firstAt : 0 };
}

/** `EVENT_TYPE_ACTIVITY_TASK_STARTED` as `ActivityTaskStarted`. */
export function eventTypeName(type: number | null | undefined): string {
  return (EventType[type ?? 0] ?? String(type))
    .replace(/^EVENT_TYPE_/, '')
    .toLowerCase()
    .replace(/(^|_)([a-z])/g, (_, _sep: string, c: string) => c.toUpperCase());
}

/**
 * Each activity's wait for a worker (Scheduled → Started) and run (Started → Completed), by activity type
 * (` (AD)` when it went to an AD task queue): a step that holds one of the few AD slots longer slows the fleet.
 */
export function activityTimes(history: History): Array<{ type: string; waitMs: number; runMs: number }> {
  const scheduled = new Map<string, { type: string; at: number }>();
  const started = new Map<string, number>();
  const out: Array<{ type: string; waitMs: number; runMs: number }> = [];
  for (const e of history.events ?? []) {
    const at = tsToMs(e.eventTime);
    const s = e.activityTaskScheduledEventAttributes;
    if (s) {
      const ad = (s.taskQueue?.name ?? '').endsWith('-ad') ? ' (AD)' : '';
      scheduled.set(String(e.eventId), { type: `${s.activityType?.name ?? '?'}${ad}`, at });
    }
    const st = e.activityTaskStartedEventAttributes;
    if (st) started.set(String(st.scheduledEventId), at);
    const c = e.activityTaskCompletedEventAttributes;
    if (c) {
      const sch = scheduled.get(String(c.scheduledEventId));
      const begun = started.get(String(c.scheduledEventId));
      if (sch && begun !== undefined) out.push({ type: sch.type, waitMs: begun - sch.at, runMs: at - begun });
    }
  }
  return out;
}

/**
 * Where a run's time went, in ms: from its first event to its close, the part in workflow tasks
 * (waiting for a worker, running) and in activities (waiting, running); the rest is the server's own.
 */
export interface RunTime {
  spanMs: number;
  workflowTaskWaitMs: number;
  workflowTaskRunMs: number;
  activityWaitMs: number;
  activityRunMs: number;
}

export function runTime(history: History): RunTime {
  const events = history.events ?? [];
  const wft = workflowTaskTimes(history);
  const acts = activityTimes(history);
  const sum = (v: number[]) => v.reduce((a, b) => a + b, 0);
  return {
    spanMs: events.length > 1 ? tsToMs(events[events.length - 1].eventTime) - tsToMs(events[0].eventTime) : 0,
    workflowTaskWaitMs: sum(wft.waitMs),
    workflowTaskRunMs: sum(wft.runMs),
    activityWaitMs: sum(acts.map((a) => a.waitMs)),
    activityRunMs: sum(acts.map((a) => a.runMs)),
  };
}

/**
 * A parent's view of its children, in ms summed over them: from asking to start one to its start being
 * recorded, and from its close being recorded to the end of the parent's next workflow task (when the
 * parent can give the slot to the next one).
 */
export function childLatencies(history: History): { starts: number[]; closes: number[] } {
  const initiated = new Map<string, number>();
  const out = { starts: [] as number[], closes: [] as number[] };
  let closedAt: number[] = [];
  for (const e of history.events ?? []) {
    const at = tsToMs(e.eventTime);
    if (e.eventType === EventType.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED)
      initiated.set(String(e.eventId), at);
    const started = e.childWorkflowExecutionStartedEventAttributes;
    if (started) {
      const asked = initiated.get(String(started.initiatedEventId));
      if (asked !== undefined) out.starts.push(at - asked);
    }
    if (e.childWorkflowExecutionCompletedEventAttributes || e.childWorkflowExecutionFailedEventAttributes)
      closedAt.push(at);
    if (e.eventType === EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED) {
      for (const c of closedAt) out.closes.push(at - c);
      closedAt = [];
    }
  }
  return out;
}

/** How many events of each type a history holds, by the type's short name (`ActivityTaskScheduled`). */
export function eventTypeCounts(history: History): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const e of history.events ?? []) {
    const name = eventTypeName(e.eventType);
    counts[name] = (counts[name] ?? 0) + 1;
  }
  return counts;
}

export function addCounts(into: Record<string, number>, from: Record<string, number>): Record<string, number> {
  for (const [k, v] of Object.entries(from)) into[k] = (into[k] ?? 0) + v;
  return into;
}

export interface Spread {
  count: number;
  mean: number;
  p95: number;
  max: number;
}

export function spread(values: number[]): Spread {
  if (values.length === 0) return { count: 0, mean: 0, p95: 0, max: 0 };
  const sorted = [...values].sort((a, b) => a - b);
  const p95 = sorted[Math.min(sorted.length - 1, Math.ceil(sorted.length * 0.95) - 1)];
  return {
    count: sorted.length,
    mean: sorted.reduce((a, b) => a + b, 0) / sorted.length,
    p95,
    max: sorted[sorted.length - 1],
  };
}

/** CPU seconds (user + system) from the text of /proc/<pid>/stat, given clock ticks per second. */
export function cpuSecondsFromProcStat(stat: string, ticksPerSecond = 100): number {
  // The command name (field 2) is in parentheses and may hold spaces: count fields after the last ')'.
  const after = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // Fields 14 (utime) and 15 (stime) counted from 1; `after` starts at field 3.
  return (Number(after[11]) + Number(after[12])) / ticksPerSecond;
}

/** Resident memory in bytes from the text of /proc/<pid>/status (`field` VmRSS now, VmHWM peak). */
export function memoryFromProcStatus(status: string, field: 'VmRSS' | 'VmHWM'): number {
  const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status);
  return m ? Number(m[1]) * 1024 : 0;
}
