/**
 * What every workflow that runs steps shares: the activity for one step (routed to the AD worker's
 * task queue when the step runs against AD) and the failure a step activity ended with.
 * Deterministic code only.
 */
import * as wf from '@temporalio/workflow';
import type { OnboardingActivities } from '../activities';
import { adTaskQueueFor } from '../domain/ids';
import type { StepOutcome, StepRequest } from '../domain/onboarding';
import { stepDefinition, type StepId } from '../domain/steps';

export type StepActivityOptions = Omit<wf.ActivityOptions, 'taskQueue'>;

/**
 * How long a step activity may go without a heartbeat before Temporal retries it elsewhere. The
 * activity beats every third of this while a script runs, so only a dead worker misses it, and an
 * attempt lost with its worker is retried within this time instead of at the 10-minute start-to-close.
 */
export const STEP_HEARTBEAT_TIMEOUT = '10 seconds';

export function stepActivity(step: StepId, options: StepActivityOptions): (req: StepRequest) => Promise<StepOutcome> {
  const routed = stepDefinition(step).runsOn === 'ad' ? { taskQueue: adTaskQueueFor(wf.workflowInfo().taskQueue) } : {};
  return wf.proxyActivities<OnboardingActivities>({ ...options, ...routed })[step];
}

export interface StepFailure {
  /** The failure type (domain/failures.ts), e.g. `AccessDenied`. */
  type: string;
  message: string;
}

/** The failure a step activity ended with, or undefined for anything else (cancellation included). */
export function stepFailureOf(err: unknown): StepFailure | undefined {
  if (!(err instanceof wf.ActivityFailure) || wf.isCancellation(err)) return undefined;
  const cause = err.cause;
  return {
    type:
      cause instanceof wf.ApplicationFailure
        ? (cause.type ?? 'ApplicationFailure')
        : (cause?.name ?? 'ActivityFailure'),
    message: cause?.message ?? err.message,
  };
}
