/**
 * Step failures by type, counted where they happen: an activity interceptor the workers install
 * (workers/create-workers.ts), so the step code itself stays free of metrics. Every failed attempt
 * counts once, with the failure type the UI and the CLI show (domain/failures.ts), and whether Temporal
 * will retry it; the activity context's meter adds the step as `activity_type`.
 */
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import type { ActivityInterceptorsFactory } from '@temporalio/worker';
import { z } from 'zod';
import { STEP_IDS } from '../domain/steps';

/** Metric name, shared with the README's queries and the metrics test. */
export const STEP_FAILURES_METRIC = 'monosync_step_failures';

const stepIds: ReadonlySet<string> = new Set(STEP_IDS);
/** A step's request names its fleet; anything else (a hand-made call) counts as `unknown`. */
const fleetOf = (args: readonly unknown[]): string =>
  z.object({ fleetId: z.string().min(1) }).safeParse(args[0]).data?.fleetId ?? 'unknown';

export const countStepFailures: ActivityInterceptorsFactory = (ctx) => ({
  inbound: {
    async execute(input, next) {
      try {
        return await next(input);
      } catch (err) {
        // A cancelled step (fleet cancelled, worker shutting down) did not fail.
        if (stepIds.has(ctx.info.activityType) && !(err instanceof CancelledFailure)) {
          const failure = err instanceof ApplicationFailure ? err : undefined;
          ctx.metricMeter
            .createCounter(STEP_FAILURES_METRIC, undefined, 'Failed step attempts by failure type')
            .add(1, {
              fleet: fleetOf(input.args),
              type: failure?.type ?? (err instanceof Error ? err.name : 'UnexpectedError'),
              retryable: String(!failure?.nonRetryable),
            });
        }
        throw err;
      }
    },
  },
});
