/**
 * Errors the CLI prints as one clear message and an exit code, instead of a stack trace.
 * Exit codes: 1 = refused or failed, 2 = bad arguments or input, 3 = not found.
 */
import { WorkflowNotFoundError, WorkflowUpdateFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { FleetFileError } from './fleet-file';

export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: 1 | 2 | 3 = 1
  ) {
    super(message);
  }
}

export function usageError(message: string): CliError {
  return new CliError(message, 2);
}

/** Turns what a command threw into the message and exit code a person can act on. */
export function explain(err: unknown): { message: string; exitCode: number } {
  if (err instanceof CliError) return { message: err.message, exitCode: err.exitCode };
  if (err instanceof FleetFileError) return { message: err.message, exitCode: 2 };
  if (err instanceof WorkflowNotFoundError) {
    return { message: `not found: ${err.workflowId ?? 'the workflow'} (${err.message})`, exitCode: 3 };
  }
  if (err instanceof WorkflowUpdateFailedError && err.cause instanceof ApplicationFailure) {
    return { message: `refused: ${err.cause.message}`, exitCode: 1 };
  }
  if (err instanceof Error && /connect|UNAVAILABLE|ECONNREFUSED/i.test(err.message)) {
    return {
      message: `cannot reach Temporal at ${process.env.TEMPORAL_ADDRESS ?? '127.0.0.1:7233'}: ${err.message}\n  start it with \`npm start\`, or set TEMPORAL_ADDRESS (and TEMPORAL_NAMESPACE, TLS or API key) for your cluster`,
      exitCode: 1,
    };
  }
  return { message: err instanceof Error ? err.message : String(err), exitCode: 1 };
}
