/** Bounded fan-out and history budget, shared by the fleet-wide workflows. Deterministic code only. */
import * as wf from '@temporalio/workflow';

/** Time to continue as new: the server suggests it, or this run's history reached `budget` events. */
export function continueAsNewDue(budget: number): boolean {
  const info = wf.workflowInfo();
  return info.continueAsNewSuggested || info.historyLength >= budget;
}

/** Runs `width` copies of `lane` side by side; each lane takes the next item until none is left. */
export async function inLanes(width: number, lane: () => Promise<void>): Promise<void> {
  await Promise.all(Array.from({ length: Math.max(1, width) }, lane));
}
