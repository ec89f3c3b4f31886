/** Turns runner failures into Temporal failures the retry policy, the UI and the CLI understand. */
import { activityInfo } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { failureKind, type FailureType } from '../domain/failures';
import { ScriptFailure } from '../runner/port';

/**
 * Transient kinds stay retryable (the activity retry policy backs off); permanent kinds are
 * non-retryable; authentication failures get exactly one more attempt, because each bad logon
 * counts towards the account's AD lockout threshold.
 */
export function toApplicationFailure(err: unknown): ApplicationFailure {
  if (err instanceof ApplicationFailure) return err;
  if (err instanceof ScriptFailure) {
    const { kind } = err;
    const nonRetryable = kind.retry === 'permanent' || (kind.retry === 'auth' && activityInfo().attempt >= 2);
    return ApplicationFailure.create({
      type: kind.type,
      message: err.message,
      nonRetryable,
      details: [{ ...err.detail, fix: kind.fix }],
    });
  }
  // Anything else is a bug in our code: fail loudly, but let Temporal retry in case it was transient.
  return ApplicationFailure.create({
    type: 'UnexpectedError',
    message: err instanceof Error ? err.message : String(err),
    nonRetryable: false,
  });
}

export function permanentFailure(
  type: FailureType,
  message: string,
  detail: Record<string, unknown>
): ApplicationFailure {
  return ApplicationFailure.create({
    type,
    message,
    nonRetryable: true,
    details: [{ ...detail, fix: failureKind(type).fix }],
  });
}
