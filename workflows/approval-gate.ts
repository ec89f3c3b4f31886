/**
 * The four-eyes gate every workflow that makes risky changes uses: pending changes, the
 * `decideChange` update (validated, refused at once) and signal (checked inside, refusals recorded),
 * standing fleet-level decisions, and the timeout that counts as a rejection.
 */
import * as wf from '@temporalio/workflow';
import {
  approverRefusal,
  decisionInputSchema,
  normaliseRules,
  standingDecisionSchema,
  decisionRefusal,
  describeReceived,
  KEPT_REFUSALS,
  keepRefusal,
  kindDecisionCovers,
  parseMessage,
  type ApprovalRules,
  type DecisionInput,
  type DecisionVia,
  type PendingApproval,
  type RecordedDecision,
  type RefusedDecision,
  type RefusedVia,
  type StandingDecision,
  signingOf,
  type KindDecisionInput,
} from '../domain/approvals';
import { changeId, type PlannedChange } from '../domain/risk';
import type { RiskKind, StepId } from '../domain/steps';
import { signatureRefusal, VerificationBudget, type SignaturePolicy } from '../domain/signatures';
import {
  decideChangeSignal,
  decideChangeUpdate,
  HANDLER_DESCRIPTIONS,
  standingDecisionSignal,
  standingDecisionsSignal,
} from './messages';

function describeDuration(ms: number): string {
  if (ms >= 3_600_000) return `${Math.round(ms / 3_600_000)} hours`;
  if (ms >= 60_000) return `${Math.round(ms / 60_000)} minutes`;
  return `${Math.round(ms / 1000)} seconds`;
}

/** The approval timer's summary in the Web UI: the exact change, and what happens when nobody decides. */
export function approvalWaitSummary(change: PlannedChange, timeoutMs: number): string {
  return `Waiting for approval of ${change.text} (rejected if undecided within ${describeDuration(timeoutMs)})`;
}

export interface ApprovalLedger {
  pendingApprovals: PendingApproval[];
  decisions: RecordedDecision[];
  /** The latest few refusals only (KEPT_REFUSALS), so no sender can grow the status or result. */
  refused: RefusedDecision[];
  /** All refusals; workflows without the count (rotation) keep only the bounded list. */
  refusedCount?: number;
}

/** Standing decisions one server keeps; more are refused (a fleet sends one per kind and decision at most). */
export const MAX_STANDING_DECISIONS = 50;

export interface ApprovalGate {
  /** Waits for a decision on `change`; none within `timeoutMs` is recorded as a rejection. */
  awaitApproval(
    change: PlannedChange,
    hooks?: { waiting?: () => Promise<void>; resumed?: () => Promise<void> }
  ): Promise<RecordedDecision>;
  /** Records a message that broke the rules (bounded text, latest few kept, all counted). */
  refuse(received: unknown, refusal: string, via: RefusedVia): void;
  /**
   * The fleet-level decision that approves a change of `kind` by `step` on `fqdn` before the step has
   * planned it, so the step's first activity can apply it at once instead of asking and running again.
   * Undefined unless the first standing decision covering it approves and nothing was decided on it yet.
   */
  standingApproval(step: StepId, kind: RiskKind, fqdn: string): StandingDecision | undefined;
  /** Records `decision` (from `standingApproval`) for the change the step applied with it. */
  recordStandingApproval(change: PlannedChange, decision: StandingDecision): RecordedDecision;
}

export function installApprovalGate(
  ledger: ApprovalLedger,
  given: ApprovalRules,
  options: {
    fleetId: string;
    /** Shared with the workflow's other signed messages (operator actions), so all count against one task. */
    budget?: VerificationBudget;
    timeoutMs: number;
    standing: StandingDecision[];
    fqdnOf: (change: PlannedChange) => string;
    /** Called after a refusal is recorded, to show it where people look (details, search attribute). */
    onRefused?: () => void;
  }
): ApprovalGate {
  // Inputs may come from outside the CLI (the Web UI, another client): compare people in one form.
  const rules = normaliseRules(given);
  const signing = signingOf(rules, options.fleetId);
  const budget = options.budget ?? new VerificationBudget();
  // Standing decisions handed over at start were verified by the fleet when it took them; expiry is
  // not checked again here, as a server may start hours after the decision.
  const standing = options.standing.filter((d) => approverRefusal(d.approver, rules) === null);
  // The workflow clock is deterministic (the time of the current workflow task).
  const now = (): string => new Date().toISOString();
  const decided = (): Set<string> => new Set(ledger.decisions.map((d) => d.changeId));
  const pending = (): Set<string> => new Set(ledger.pendingApprovals.map((p) => p.change.id));
  const usedNonces = (): Set<string> =>
    new Set([...ledger.decisions, ...standing].flatMap((d) => (d.signature ? [d.signature.nonce] : [])));
  /** Every rule for one decision on one change: pending and undecided, four eyes, and its signature. */
  const refusalOf = (d: DecisionInput): string | null => {
    const ruleRefusal = decisionRefusal(d, rules, pending(), decided());
    if (ruleRefusal) return ruleRefusal;
    const change = ledger.pendingApprovals.find((p) => p.change.id === d.changeId)?.change as PlannedChange;
    return signatureRefusal(
      signing,
      {
        kind: 'change',
        fleetId: signing.fleetId,
        server: options.fqdnOf(change),
        changeId: d.changeId,
        changeText: change.text,
        decision: d.decision,
        signer: d.approver,
        reason: d.reason,
      },
      d.signature,
      Date.now(),
      usedNonces(),
      budget
    );
  };
  const record = (d: DecisionInput, via: DecisionVia): RecordedDecision => {
    const entry: RecordedDecision = { ...d, at: now(), via };
    ledger.decisions.push(entry);
    ledger.pendingApprovals = ledger.pendingApprovals.filter((p) => p.change.id !== d.changeId);
    return entry;
  };
  const refuse = (received: unknown, refusal: string, via: RefusedVia): void => {
    const entry = { received: describeReceived(received), refusal, at: now(), via };
    ledger.refusedCount = keepRefusal(ledger.refused, entry, ledger.refusedCount ?? ledger.refused.length);
    // A flood is logged by samples: the first few, then every hundredth.
    if (ledger.refusedCount <= KEPT_REFUSALS || ledger.refusedCount % 100 === 0) {
      wf.log.warn('refused a message', { refusal, via, refusedSoFar: ledger.refusedCount });
    }
    options.onRefused?.();
  };
  const applyStanding = (d: StandingDecision): void => {
    for (const p of [...ledger.pendingApprovals]) {
      if (kindDecisionCovers(d, p.change.kind, options.fqdnOf(p.change))) {
        record(
          {
            changeId: p.change.id,
            decision: d.decision,
            approver: d.approver,
            reason: d.reason,
            signature: d.signature,
          },
          'fleet'
        );
      }
    }
  };

  // Record what the validator checked (approver and reason normalised), not the raw input.
  wf.setHandler(decideChangeUpdate, (d) => record(decisionInputSchema.parse(d), 'update'), {
    validator: (raw) => {
      const parsed = parseMessage(decisionInputSchema, raw, 'decideChange');
      if (!parsed.ok) throw wf.ApplicationFailure.nonRetryable(parsed.refusal, 'InvalidDecision');
      const refusal = refusalOf(parsed.value);
      if (refusal) throw wf.ApplicationFailure.nonRetryable(refusal, 'DecisionRefused');
    },
    description: HANDLER_DESCRIPTIONS.decideChangeUpdate,
  });
  wf.setHandler(
    decideChangeSignal,
    (raw) => {
      const parsed = parseMessage(decisionInputSchema, raw, 'decideChange');
      if (!parsed.ok) return refuse(raw, parsed.refusal, 'signal');
      const refusal = refusalOf(parsed.value);
      if (refusal) return refuse(raw, refusal, 'signal');
      record(parsed.value, 'signal');
    },
    { description: HANDLER_DESCRIPTIONS.decideChangeSignal }
  );
  /** Takes one fleet-level decision as the fleet relayed it; anyone who can signal may send one, so the same four-eyes rules apply. */
  const takeStanding = (raw: unknown, message: string): void => {
    const parsed = parseMessage(standingDecisionSchema, raw, message);
    if (!parsed.ok) return refuse(raw, parsed.refusal, 'fleet');
    const refusal =
      approverRefusal(parsed.value.approver, rules) ??
      kindSignatureRefusal(signing, parsed.value, Date.now(), usedNonces(), budget);
    if (refusal) return refuse(raw, refusal, 'fleet');
    if (standing.length >= MAX_STANDING_DECISIONS) {
      return refuse(
        raw,
        `this server already holds ${MAX_STANDING_DECISIONS} fleet decisions: no more are taken`,
        'fleet'
      );
    }
    standing.push(parsed.value);
    applyStanding(parsed.value);
  };
  wf.setHandler(standingDecisionSignal, (raw) => takeStanding(raw, 'standingDecision'), {
    description: HANDLER_DESCRIPTIONS.standingDecision,
  });
  wf.setHandler(
    standingDecisionsSignal,
    (raw: unknown) => {
      if (!Array.isArray(raw) || raw.length > MAX_STANDING_DECISIONS) {
        return refuse(
          raw,
          `standingDecisions: expected a list of at most ${MAX_STANDING_DECISIONS} decisions`,
          'fleet'
        );
      }
      raw.forEach((d, i) => takeStanding(d, `standingDecisions[${i}]`));
    },
    { description: HANDLER_DESCRIPTIONS.standingDecisions }
  );

  return {
    refuse,
    standingApproval(step, kind, fqdn) {
      if (ledger.decisions.some((d) => d.changeId === changeId(fqdn, step, kind))) return undefined;
      // As applyStanding decides a pending change: the first standing decision that covers it.
      const first = standing.find((d) => kindDecisionCovers(d, kind, fqdn));
      return first?.decision === 'approve' ? first : undefined;
    },
    recordStandingApproval(change, d) {
      return (
        ledger.decisions.find((r) => r.changeId === change.id) ??
        record(
          { changeId: change.id, decision: d.decision, approver: d.approver, reason: d.reason, signature: d.signature },
          'fleet'
        )
      );
    },
    async awaitApproval(change, hooks = {}) {
      // Asked again for an id that is decided (the plan was re-made): the decision stands, nothing pends.
      const earlier = ledger.decisions.find((d) => d.changeId === change.id);
      if (earlier) return earlier;
      const requestedAt = now();
      ledger.pendingApprovals.push({
        change,
        requestedAt,
        expiresAt: new Date(Date.parse(requestedAt) + options.timeoutMs).toISOString(),
      });
      for (const d of standing) applyStanding(d);
      const isDecided = () => decided().has(change.id);
      if (!isDecided()) {
        await hooks.waiting?.();
        // Named, so the Web UI shows what the timer waits for instead of a bare "Timer 3 days".
        const inTime = await wf.condition(isDecided, options.timeoutMs, {
          summary: approvalWaitSummary(change, options.timeoutMs),
        });
        if (!inTime) {
          record(
            {
              changeId: change.id,
              decision: 'reject',
              approver: 'system',
              reason: `no decision within ${describeDuration(options.timeoutMs)}: treated as rejected`,
            },
            'timeout'
          );
        }
        await hooks.resumed?.();
      }
      return ledger.decisions.find((d) => d.changeId === change.id) as RecordedDecision;
    },
  };
}

/**
 * The signature check of a fleet-level decision, made by the fleet (against its clock) and again by
 * each server it reaches (against the time the fleet took it), so one sent straight to a server is
 * held to the same proof.
 */
export function kindSignatureRefusal(
  signing: SignaturePolicy,
  d: KindDecisionInput,
  now: number,
  usedNonces: ReadonlySet<string>,
  budget: VerificationBudget
): string | null {
  return signatureRefusal(
    signing,
    {
      kind: 'fleet-kind',
      fleetId: signing.fleetId,
      riskKind: d.kind,
      servers: d.servers,
      decision: d.decision,
      signer: d.approver,
      reason: d.reason,
    },
    d.signature,
    now,
    usedNonces,
    budget
  );
}
