/**
 * The checks a fleet-level decision on one kind of change passes before a fleet takes it: the fleet's
 * `decideKind` validator, and a batch of a large fleet on the decisions its fleet relays (anyone can send
 * that signal too). Deterministic code only.
 */
import { ApplicationFailure } from '@temporalio/workflow';
import {
  approverRefusal,
  kindDecisionInputSchema,
  parseMessage,
  standingDecisionsRefusal,
  type ApprovalRules,
  type KindDecisionInput,
  type StandingDecision,
} from '../domain/approvals';
import type { SignaturePolicy, VerificationBudget } from '../domain/signatures';
import { kindSignatureRefusal } from './approval-gate';

/** Decisions one `fleetDecisions` signal carries at most (a fleet relays a burst of them in several). */
export const MAX_RELAYED_DECISIONS = 20;

export interface KindDecisionChecks {
  rules: ApprovalRules;
  signing: SignaturePolicy;
  /** The decisions the fleet already took: their nonces are spent, and all of them must fit its carry. */
  taken: readonly StandingDecision[];
  budget: VerificationBudget;
  /** Whether a listed server is one of the fleet's; absent in a batch, which holds a slice of them. */
  isServer?: (fqdn: string) => boolean;
}

/**
 * The `decideKind` validator of a fleet (and of a fleet in batches): a malformed input or a refused
 * decision is thrown back to the sender, and nothing is recorded.
 */
export function validateKindDecision(raw: unknown, checks: KindDecisionChecks): void {
  const parsed = parseMessage(kindDecisionInputSchema, raw, 'decideKind');
  if (!parsed.ok) throw ApplicationFailure.nonRetryable(parsed.refusal, 'InvalidDecision');
  const refusal = kindDecisionRefusal(parsed.value, checks);
  if (refusal) throw ApplicationFailure.nonRetryable(refusal, 'DecisionRefused');
}

/** Why the fleet does not take `d`, or undefined when it does. */
export function kindDecisionRefusal(d: KindDecisionInput, checks: KindDecisionChecks): string | undefined {
  const usedNonces = new Set(checks.taken.flatMap((t) => t.signature?.nonce ?? []));
  const refusal =
    approverRefusal(d.approver, checks.rules) ??
    kindSignatureRefusal(checks.signing, d, Date.now(), usedNonces, checks.budget);
  if (refusal) return refusal;
  const { isServer } = checks;
  const unknown = d.servers === 'all' || !isServer ? [] : d.servers.filter((s) => !isServer(s));
  if (unknown.length > 0) return `not in this fleet: ${unknown.join(', ')}`;
  return standingDecisionsRefusal([...checks.taken, d]);
}
