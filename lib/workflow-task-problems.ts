/**
 * Workflow tasks in a history that point at a problem: failed by the workflow code (a bug, or
 * nondeterminism) or timed out while running (a task too slow). Both are retried silently by
 * Temporal, so the benchmark and the scale test look for them explicitly.
 *
 * Left out on purpose: a task the server failed with UNHANDLED_COMMAND (new signals arrived while
 * the workflow was completing or continuing as new; it is redone with them, by design) and a task
 * that timed out waiting in a worker's sticky queue (a busy worker, not a slow task).
 */
import { temporal } from '@temporalio/proto';

type History = temporal.api.history.v1.IHistory;
const { WorkflowTaskFailedCause, TimeoutType } = temporal.api.enums.v1;

export function workflowTaskProblems(history: History): string[] {
  const problems: string[] = [];
  for (const event of history.events ?? []) {
    const failed = event.workflowTaskFailedEventAttributes;
    if (failed && failed.cause !== WorkflowTaskFailedCause.WORKFLOW_TASK_FAILED_CAUSE_UNHANDLED_COMMAND) {
      const cause = WorkflowTaskFailedCause[failed.cause ?? 0] ?? String(failed.cause);
      problems.push(
        `event ${String(event.eventId)}: workflow task failed (${cause}): ${failed.failure?.message ?? ''}`
      );
    }
    const timedOut = event.workflowTaskTimedOutEventAttributes;
    if (timedOut && timedOut.timeoutType === TimeoutType.TIMEOUT_TYPE_START_TO_CLOSE) {
      problems.push(`event ${String(event.eventId)}: workflow task ran past its timeout`);
    }
  }
  return problems;
}
