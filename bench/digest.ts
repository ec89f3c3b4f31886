/**
 * What the benchmark keeps of a run's histories, taken one history at a time: the histories of 5,000
 * servers do not fit comfortably in memory at once, and every figure is a sum or a list of numbers.
 */
import { temporal } from '@temporalio/proto';
import { workflowTaskProblems } from '../lib/workflow-task-problems';
import {
  activityTimes,
  childLatencies,
  endRetries,
  runTime,
  type RunTime,
  addCounts,
  eventTypeCounts,
  eventTypeName,
  spread,
  workflowTaskTimes,
  type Spread,
} from './figures';

type History = temporal.api.history.v1.IHistory;

export interface DigestFigures {
  runs: number;
  /** Events in each history. */
  events: number[];
  /** Events of each type over all histories. */
  eventsByType: Record<string, number>;
  /** Encoded size of each history in bytes: what the server stores, sends and reads back for it. */
  bytes: number[];
  /** Encoded bytes of the events of each type over all histories (payloads included). */
  bytesByType: Record<string, number>;
  workflowTaskRunMs: Spread;
  workflowTaskWaitMs: Spread;
  /** Activities whose last attempt was not their first (a retried step, visible in the UI with its last failure). */
  retriedActivities: number;
  /** Attempts beyond each activity's first, over all histories. */
  extraAttempts: number;
  /** Completed activities by type: mean wait for a worker and mean run, in ms. */
  activities: Record<string, { count: number; waitMs: number; runMs: number }>;
  /** Children of these runs: from asking to start one to its start, from its close to the parent's next task done. */
  childStartMs: Spread;
  childCloseMs: Spread;
  /** Mean of each part of a run's time (figures.ts `runTime`). */
  time: RunTime;
  /** Runs whose end was retried because events arrived meanwhile (figures.ts `endRetries`), those tasks, and the time it took. */
  endRetries: { runs: number; failedTasks: number; lostMs: number };
  /** Workflow tasks that failed or ran past their timeout (`lib/workflow-task-problems.ts`), by workflow id. */
  problems: string[];
}

export class HistoryDigest {
  private readonly events: number[] = [];
  private readonly byType: Record<string, number> = {};
  private readonly bytes: number[] = [];
  private readonly childStarts: number[] = [];
  private readonly childCloses: number[] = [];
  private readonly time: RunTime = {
    spanMs: 0,
    workflowTaskWaitMs: 0,
    workflowTaskRunMs: 0,
    activityWaitMs: 0,
    activityRunMs: 0,
  };
  private readonly activities: Record<string, { count: number; waitMs: number; runMs: number }> = {};
  private readonly bytesByType: Record<string, number> = {};
  private readonly runMs: number[] = [];
  private readonly waitMs: number[] = [];
  private readonly ends = { runs: 0, failedTasks: 0, lostMs: 0 };
  private retried = 0;
  private extra = 0;
  private readonly problems: string[] = [];

  add(workflowId: string, history: History): void {
    this.events.push(history.events?.length ?? 0);
    addCounts(this.byType, eventTypeCounts(history));
    let total = 0;
    for (const e of history.events ?? []) {
      const size = temporal.api.history.v1.HistoryEvent.encode(e).finish().length;
      total += size;
      const type = eventTypeName(e.eventType);
      this.bytesByType[type] = (this.bytesByType[type] ?? 0) + size;
    }
    this.bytes.push(total);
    const children = childLatencies(history);
    for (const v of children.starts) this.childStarts.push(v);
    for (const v of children.closes) this.childCloses.push(v);
    const t = runTime(history);
    for (const k of Object.keys(t) as Array<keyof RunTime>) this.time[k] += t[k];
    for (const a of activityTimes(history)) {
      const sum = (this.activities[a.type] ??= { count: 0, waitMs: 0, runMs: 0 });
      sum.count += 1;
      sum.waitMs += a.waitMs;
      sum.runMs += a.runMs;
    }
    const times = workflowTaskTimes(history);
    for (const ms of times.runMs) this.runMs.push(ms);
    for (const ms of times.waitMs) this.waitMs.push(ms);
    for (const e of history.events ?? []) {
      // The server records one ActivityTaskStarted per activity, with the attempt that last ran.
      const attempt = e.activityTaskStartedEventAttributes?.attempt ?? 1;
      if (attempt > 1) {
        this.retried += 1;
        this.extra += attempt - 1;
      }
    }
    const end = endRetries(history);
    if (end.failedTasks > 0) {
      this.ends.runs += 1;
      this.ends.failedTasks += end.failedTasks;
      this.ends.lostMs += end.lostMs;
    }
    const problems = workflowTaskProblems(history);
    if (problems.length > 0) this.problems.push(`${workflowId}: ${problems.join('; ')}`);
  }

  figures(): DigestFigures {
    return {
      runs: this.events.length,
      events: [...this.events],
      eventsByType: { ...this.byType },
      bytes: [...this.bytes],
      bytesByType: { ...this.bytesByType },
      childStartMs: spread(this.childStarts),
      childCloseMs: spread(this.childCloses),
      time: Object.fromEntries(
        Object.entries(this.time).map(([k, v]) => [k, v / Math.max(1, this.events.length)])
      ) as unknown as RunTime,
      activities: Object.fromEntries(
        Object.entries(this.activities).map(([k, v]) => [
          k,
          { count: v.count, waitMs: v.waitMs / v.count, runMs: v.runMs / v.count },
        ])
      ),
      workflowTaskRunMs: spread(this.runMs),
      workflowTaskWaitMs: spread(this.waitMs),
      retriedActivities: this.retried,
      extraAttempts: this.extra,
      endRetries: { ...this.ends },
      problems: [...this.problems],
    };
  }
}
