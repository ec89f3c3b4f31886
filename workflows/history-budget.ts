/** The history budget shared by the fleet-wide workflows. Deterministic code only. */
import * as wf from '@temporalio/workflow';

/** Time to continue as new: the server suggests it, or this run's history reached `budget` events. */
export function continueAsNewDue(budget: number): boolean {
  const info = wf.workflowInfo();
  return info.continueAsNewSuggested || info.historyLength >= budget;
}
