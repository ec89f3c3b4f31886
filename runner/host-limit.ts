/**
 * At most N sessions at a time against one host, whichever workflow asks: WinRM's per-user shell
 * quota is small, and a fleet run must not crowd one server.
 */
import { limitConcurrentCalls } from './call-budget';
import { serverOf, type PowerShellRunner } from './port';

export const SESSIONS_PER_HOST = 2;

export function limitSessionsPerHost(runner: PowerShellRunner, limit = SESSIONS_PER_HOST): PowerShellRunner {
  return limitConcurrentCalls(runner, limit, (call) => serverOf(call.target));
}
