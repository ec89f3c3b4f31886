/**
 * The fault plan: which calls fail, hang or see a broken TLS path. Rules are matched in the order
 * they were injected; the first that matches and fires wins.
 */
import type { ScriptCall } from '../domain/scripts';
import { nextRandom } from './rng';
import type { FaultKind, FaultRule, FaultState } from './model';

export interface FaultSubject {
  call: ScriptCall;
  /** The server FQDN the call is about. */
  host: string;
}

function inScope(rule: FaultRule, subject: FaultSubject): boolean {
  const { call } = subject;
  if (rule.host !== undefined && rule.host.toLowerCase() !== subject.host) return false;
  if (rule.script !== undefined && rule.script !== call.script) return false;
  if (rule.mode !== undefined && rule.mode !== call.mode) return false;
  if (rule.runsOn !== undefined && rule.runsOn !== call.target.host) return false;
  return rule.times === undefined || rule.hits < rule.times;
}

/** Draws only for rules in scope, so adding an unrelated rule does not shift other rules' luck. */
function fires(rule: FaultRule, faults: FaultState): boolean {
  if (rule.probability === undefined || rule.probability >= 1) return true;
  const draw = nextRandom(faults.rng);
  faults.rng = draw.state;
  return draw.value < rule.probability;
}

/** The first rule of one of `kinds` that applies to this call; counts the hit. */
export function takeFault(
  faults: FaultState,
  subject: FaultSubject,
  kinds: readonly FaultKind[]
): FaultRule | undefined {
  for (const rule of faults.rules) {
    if (!kinds.includes(rule.kind) || !inScope(rule, subject)) continue;
    if (!fires(rule, faults)) continue;
    rule.hits += 1;
    return rule;
  }
  return undefined;
}
