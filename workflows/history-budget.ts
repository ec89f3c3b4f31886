/** The history budget shared by the fleet-wide workflows. Deterministic code only. */
import * as wf from '@temporalio/workflow';

/** Time to continue as new: the server suggests it, or this run's history reached `budget` events. */
export function continueAsNewDue(budget: number): boolean {
  const info = wf.workflowInfo();
  return info.continueAsNewSuggested || info.historyLength >= budget;
}

/**
 * Fleet history events per server still to start (its start, answer and completion, and the tasks and
 * hand-over signals around them: 5.8 measured at N = 1,000) and per server in flight (its completion
 * or report, and tasks).
 */
export const FLEET_EVENTS_PER_SERVER_TO_START = 6;
export const FLEET_EVENTS_PER_SERVER_IN_FLIGHT = 3;

/** How far past its budget a run may go to finish the fleet instead of continuing as new. */
export const FINISH_IN_RUN_SLACK = 1.25;

export interface RunRest {
  historyLength: number;
  continueAsNewSuggested: boolean;
  /** Servers not started yet (none once the fleet stopped starting). */
  toStart: number;
  inFlight: number;
  /** The fleet's `historyEventBudget`. */
  budget: number;
}

/**
 * Whether the rest of the fleet fits in this run, within FINISH_IN_RUN_SLACK × its budget: then the run
 * finishes the fleet rather than continue as new. Each continue-as-new races the servers' reports (one
 * arriving while the run ends fails that workflow task, and the worker replays the whole run to try
 * again, while no server is started), so the fleet saves the last one when it can.
 */
export function restFitsInRun(rest: RunRest): boolean {
  const events =
    rest.historyLength +
    rest.toStart * FLEET_EVENTS_PER_SERVER_TO_START +
    rest.inFlight * FLEET_EVENTS_PER_SERVER_IN_FLIGHT;
  return !rest.continueAsNewSuggested && events <= rest.budget * FINISH_IN_RUN_SLACK;
}
