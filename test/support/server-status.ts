/** Waiting on a server workflow's status, and expecting an update to be refused: the approval tests' tools. */
import assert from 'node:assert/strict';
import { WorkflowUpdateFailedError, type WorkflowHandle } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import type { ServerStatus } from '../../domain/status';
import { serverStatusQuery } from '../../workflows/messages';

/** An update the validator refused, with this failure type and a message matching `message`. */
export async function expectRefused(promise: Promise<unknown>, type: string, message: RegExp): Promise<void> {
  await assert.rejects(promise, (err: unknown) => {
    assert.ok(err instanceof WorkflowUpdateFailedError, `expected WorkflowUpdateFailedError, got ${String(err)}`);
    assert.ok(
      err.cause instanceof ApplicationFailure,
      `expected an ApplicationFailure cause, got ${String(err.cause)}`
    );
    assert.equal(err.cause.type, type, err.cause.message);
    assert.match(err.cause.message, message);
    return true;
  });
}

/** Polls the server's status until `check` holds (the workflow may not exist yet at first). */
export async function waitForStatus(
  handle: WorkflowHandle,
  check: (s: ServerStatus) => boolean,
  timeoutMs = 30_000
): Promise<ServerStatus> {
  const deadline = Date.now() + timeoutMs;
  let last: ServerStatus | undefined;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      last = await handle.query(serverStatusQuery);
      if (check(last)) return last;
    } catch (err) {
      lastError = err;
    }
    await new Promise((r) => setTimeout(r, 150));
  }
  throw new Error(
    `timed out waiting for ${handle.workflowId}: last status ${JSON.stringify(last)}; last error ${String(lastError)}`
  );
}

export function waitForPending(handle: WorkflowHandle, id: string): Promise<ServerStatus> {
  return waitForStatus(handle, (s) => s.pendingApprovals.some((p) => p.change.id === id));
}

export function waitForFinal(handle: WorkflowHandle, timeoutMs?: number): Promise<ServerStatus> {
  return waitForStatus(handle, (s) => ['onboarded', 'needs-attention'].includes(s.phase), timeoutMs);
}
