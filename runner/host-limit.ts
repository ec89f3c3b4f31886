/**
 * At most N sessions at a time against one host, whichever workflow asks: WinRM's per-user shell
 * quota is small, and a fleet run must not crowd one server.
 */
import type { StepEnvelope } from '../domain/envelope';
import type { ScriptCall } from '../domain/scripts';
import { serverOf, type PowerShellRunner } from './port';

export const SESSIONS_PER_HOST = 2;

export function limitSessionsPerHost(runner: PowerShellRunner, limit = SESSIONS_PER_HOST): PowerShellRunner {
  const active = new Map<string, number>();
  const waiting = new Map<string, Array<() => void>>();

  const acquire = async (host: string): Promise<void> => {
    while ((active.get(host) ?? 0) >= limit) {
      await new Promise<void>((resolve) => waiting.set(host, [...(waiting.get(host) ?? []), resolve]));
    }
    active.set(host, (active.get(host) ?? 0) + 1);
  };
  const release = (host: string): void => {
    const left = (active.get(host) ?? 1) - 1;
    if (left === 0) active.delete(host);
    else active.set(host, left);
    const queue = waiting.get(host);
    const next = queue?.shift();
    if (queue && queue.length === 0) waiting.delete(host);
    next?.();
  };

  return {
    async run(call: ScriptCall): Promise<StepEnvelope> {
      const host = serverOf(call.target);
      if (host === null) return runner.run(call);
      await acquire(host);
      try {
        return await runner.run(call);
      } finally {
        release(host);
      }
    },
    close: () => runner.close(),
  };
}
