/**
 * At most N script calls at a time through this runner, first come first served. The AD worker counts
 * its budget here, in calls at the domain controllers, rather than in activity slots: a slot is also held
 * while the worker reports one step and fetches the next, and the DCs would sit idle meanwhile.
 */
import type { StepEnvelope } from '../domain/envelope';
import type { ScriptCall } from '../domain/scripts';
import type { PowerShellRunner } from './port';

export function limitConcurrentCalls(runner: PowerShellRunner, limit: number): PowerShellRunner {
  if (!Number.isInteger(limit) || limit < 1)
    throw new RangeError(`a call budget must be a whole number >= 1, got ${limit}`);
  let active = 0;
  const waiting: Array<() => void> = [];
  const release = (): void => {
    const next = waiting.shift();
    // The permit passes straight to the next caller, so no newcomer can slip in between.
    if (next) next();
    else active -= 1;
  };
  return {
    async run(call: ScriptCall): Promise<StepEnvelope> {
      if (active < limit) active += 1;
      else await new Promise<void>((resolve) => waiting.push(resolve));
      try {
        return await runner.run(call);
      } finally {
        release();
      }
    },
    close: () => runner.close(),
  };
}
