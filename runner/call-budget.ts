/**
 * At most N script calls at a time through a runner, first come first served, overall or per key. The
 * AD worker counts its budget with it, in calls at the domain controllers rather than in activity slots
 * (a slot is also held while the worker reports one step and fetches the next, and the DCs would sit
 * idle meanwhile); runner/host-limit.ts counts WinRM sessions per server with it.
 */
import type { StepEnvelope } from '../domain/envelope';
import type { ScriptCall } from '../domain/scripts';
import type { PowerShellRunner } from './port';

/** The key a call counts against; null: the call is not limited. One key for all calls by default. */
export type CallKey = (call: ScriptCall) => string | null;

export function limitConcurrentCalls(
  runner: PowerShellRunner,
  limit: number,
  keyOf: CallKey = () => ''
): PowerShellRunner {
  if (!Number.isInteger(limit) || limit < 1) {
    throw new RangeError(`a call budget must be a whole number >= 1, got ${limit}`);
  }
  const active = new Map<string, number>();
  const waiting = new Map<string, Array<() => void>>();
  const acquire = async (key: string): Promise<void> => {
    const running = active.get(key) ?? 0;
    if (running < limit) {
      active.set(key, running + 1);
      return;
    }
    await new Promise<void>((resolve) => {
      const queue = waiting.get(key) ?? [];
      queue.push(resolve);
      waiting.set(key, queue);
    });
  };
  const release = (key: string): void => {
    const queue = waiting.get(key);
    const next = queue?.shift();
    if (queue?.length === 0) waiting.delete(key);
    // The permit passes straight to the next caller, so no newcomer can slip in between.
    if (next) return next();
    const left = (active.get(key) ?? 1) - 1;
    if (left === 0) active.delete(key);
    else active.set(key, left);
  };
  return {
    async run(call: ScriptCall): Promise<StepEnvelope> {
      const key = keyOf(call);
      if (key === null) return runner.run(call);
      await acquire(key);
      try {
        return await runner.run(call);
      } finally {
        release(key);
      }
    },
    close: () => runner.close(),
  };
}
