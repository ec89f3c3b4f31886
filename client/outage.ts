/**
 * Riding out a Temporal outage in a long-running CLI command (`fleet onboard --wait`): the fleet goes
 * on while the frontend restarts, so the command that follows it should too, instead of exiting 1.
 */
import { isGrpcServiceError, ServiceError } from '@temporalio/client';

/** gRPC codes that say "not now" rather than "no": unavailable, deadline exceeded, resource exhausted, aborted. */
const TRANSIENT_GRPC_CODES = new Set([14, 4, 8, 10]);

/** Whether `err` says Temporal could not be reached or answered "try again", not that the call was wrong. */
export function isTemporalUnavailable(err: unknown): boolean {
  for (let e: unknown = err, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth += 1) {
    if (isGrpcServiceError(e)) return TRANSIENT_GRPC_CODES.has(e.code);
    if (e instanceof ServiceError && /UNAVAILABLE|ECONNREFUSED|ECONNRESET|connect/i.test(e.message)) return true;
  }
  return false;
}

export interface OutagePolicy {
  /** Give up after Temporal has been unreachable this long (then the last error is thrown). */
  giveUpAfterMs: number;
  /** First wait between tries; doubled each time up to `maxDelayMs`. */
  initialDelayMs: number;
  maxDelayMs: number;
  /** Told once when an outage starts and once when it ends. */
  onOutage?: (err: unknown) => void;
  onRecovered?: (downForMs: number) => void;
  sleep?: (ms: number) => Promise<void>;
  now?: () => number;
}

export const WAIT_OUTAGE_POLICY: OutagePolicy = {
  giveUpAfterMs: 15 * 60_000,
  initialDelayMs: 500,
  maxDelayMs: 15_000,
};

/** Runs `fn`, trying again with backoff while Temporal is unavailable; any other error is thrown at once. */
export async function retryWhileUnavailable<T>(fn: () => Promise<T>, policy: OutagePolicy): Promise<T> {
  const sleep = policy.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const now = policy.now ?? Date.now;
  let since: number | undefined;
  let delay = policy.initialDelayMs;
  for (;;) {
    try {
      const value = await fn();
      if (since !== undefined) policy.onRecovered?.(now() - since);
      return value;
    } catch (err) {
      if (!isTemporalUnavailable(err)) throw err;
      if (since === undefined) {
        since = now();
        policy.onOutage?.(err);
      } else if (now() - since >= policy.giveUpAfterMs) {
        throw err;
      }
      await sleep(delay);
      delay = Math.min(policy.maxDelayMs, delay * 2);
    }
  }
}
