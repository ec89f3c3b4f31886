/**
 * The activities: one per manual step, each a check → change → verify unit over a PowerShell runner,
 * and one the fleet workflow uses to learn which of its servers have closed.
 * Workflows import only the type of `createActivities`.
 */
import { getClient, heartbeat, log } from '@temporalio/activity';
import type { StepOutcome, StepRequest } from '../domain/onboarding';
import { STEP_IDS, type StepId } from '../domain/steps';
import type { PowerShellRunner } from '../runner/port';
import { findClosedServers, type TrackedServer } from './find-closed-servers';
import { runStep } from './run-step';

export function createActivities(runner: PowerShellRunner) {
  // One activity per step, named by its id: the name the Web UI shows and workflows call.
  const steps = Object.fromEntries(
    STEP_IDS.map((id) => [id, (req: StepRequest): Promise<StepOutcome> => runStep(runner, id, req)])
  ) as Record<StepId, (req: StepRequest) => Promise<StepOutcome>>;
  return {
    ...steps,
    /** For the fleet workflow: asks Temporal, through the worker's own connection, not Windows. */
    findClosedServers: (servers: TrackedServer[]) =>
      findClosedServers({ client: getClient(), progress: () => heartbeat(), warn: (m, f) => log.warn(m, f) }, servers),
  };
}

export type OnboardingActivities = ReturnType<typeof createActivities>;
