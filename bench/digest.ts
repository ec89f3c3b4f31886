/**
 * What the benchmark keeps of a run's histories, taken one history at a time: the histories of 5,000
 * servers do not fit comfortably in memory at once, and every figure is a sum or a list of numbers.
 */
import type { temporal } from '@temporalio/proto';
import { workflowTaskProblems } from '../lib/workflow-task-problems';
import { addCounts, eventTypeCounts, spread, workflowTaskTimes, type Spread } from './figures';

type History = temporal.api.history.v1.IHistory;

export interface DigestFigures {
  runs: number;
  /** Events in each history. */
  events: number[];
  /** Events of each type over all histories. */
  eventsByType: Record<string, number>;
  workflowTaskRunMs: Spread;
  workflowTaskWaitMs: Spread;
  /** Activities whose last attempt was not their first (a retried step, visible in the UI with its last failure). */
  retriedActivities: number;
  /** Attempts beyond each activity's first, over all histories. */
  extraAttempts: number;
  /** Workflow tasks that failed or ran past their timeout (`lib/workflow-task-problems.ts`), by workflow id. */
  problems: string[];
}

export class HistoryDigest {
  private readonly events: number[] = [];
  private readonly byType: Record<string, number> = {};
  private readonly runMs: number[] = [];
  private readonly waitMs: number[] = [];
  private retried = 0;
  private extra = 0;
  private readonly problems: string[] = [];

  add(workflowId: string, history: History): void {
    this.events.push(history.events?.length ?? 0);
    addCounts(this.byType, eventTypeCounts(history));
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
    const problems = workflowTaskProblems(history);
    if (problems.length > 0) this.problems.push(`${workflowId}: ${problems.join('; ')}`);
  }

  figures(): DigestFigures {
    return {
      runs: this.events.length,
      events: [...this.events],
      eventsByType: { ...this.byType },
      workflowTaskRunMs: spread(this.runMs),
      workflowTaskWaitMs: spread(this.waitMs),
      retriedActivities: this.retried,
      extraAttempts: this.extra,
      problems: [...this.problems],
    };
  }
}
