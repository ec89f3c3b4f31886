/**
 * Onboards one Exchange server: every step of the manual in order, starting with a read of its state (the change at
 * the domain controllers runs beside the server's own steps, domain/steps.ts OVERLAPPED_PLAN). A risky change
 * waits for a second person's decision; a permanent failure waits for an operator (retry, skip,
 * abort) instead of failing the fleet.
 */
import * as wf from '@temporalio/workflow';
import {
  operatorDecisionInputSchema,
  parseMessage,
  signingOf,
  type OperatorDecisionInput,
  type StandingDecision,
} from '../domain/approvals';
import { fleetWorkflowId, isFleetBatchWorkflowId } from '../domain/ids';
import { signatureRefusal, VerificationBudget } from '../domain/signatures';
import { stepRetryPolicy } from '../domain/failures';
import { stepApplies, type StepOutcome, type StepRequest } from '../domain/onboarding';
import type { PlannedChange } from '../domain/risk';
import { PhaseKey, RefusedKey } from '../domain/search-attributes';
import {
  MAX_WAITING_FOR_CHARS,
  type ServerPhase,
  type ServerRunInput,
  type ServerStatus,
  type StepRecord,
} from '../domain/status';
import {
  OVERLAPPED_PLAN,
  STEP_IDS,
  STEP_MODULES,
  STEPS,
  stepDefinition,
  type RiskKind,
  type StepId,
} from '../domain/steps';
import { installApprovalGate } from './approval-gate';
import {
  fleetContinuedSignal,
  HANDLER_DESCRIPTIONS,
  resolveStepSignal,
  resolveStepUpdate,
  serverPhaseSignal,
  serverStatusQuery,
} from './messages';
import { reportServerPhase } from './metrics';
import { describeOutcome, renderServerDetails } from './render';
import { STEP_HEARTBEAT_TIMEOUT, stepActivity, stepFailureOf, type StepFailure } from './step-activities';

class AbortServer extends Error {}
const noop = (): void => undefined;

/** A step's activity failed for good: its record says how. */
function recordFailure(rec: StepRecord, error: StepFailure): void {
  Object.assign(rec, { status: 'failed', error, summary: `${error.type}: ${error.message}` });
}

/** What a step's activity found and did, in its record. */
function recordOutcome(rec: StepRecord, outcome: StepOutcome): void {
  Object.assign(rec, {
    status: outcome.status,
    changed: outcome.changed,
    summary: describeOutcome(outcome),
    before: outcome.before,
    after: outcome.after,
    ...(outcome.change ? { change: outcome.change } : {}),
  });
}
/** A step found that onboarding does not apply to this server (its hooks); the message says what the server is. */
class NotApplicableServer extends Error {}

/**
 * The workflow's result: the status without each step's full before/after state (the `status` query
 * has those). The result is copied into the fleet's history for every server, so it is kept small.
 */
function resultOf(status: ServerStatus): ServerStatus {
  return { ...status, steps: status.steps.map(({ before: _before, after: _after, ...rest }) => rest) };
}

/**
 * The step activity's summary: a check (that applies safe changes), the apply of an approved change, or
 * a check that may apply a kind of change the fleet approved beforehand.
 */
export function stepActivitySummary(
  computerName: string,
  step: StepId,
  approved?: PlannedChange,
  standing?: Pick<StandingDecision, 'kind' | 'approver'>
): string {
  const title = stepDefinition(step).title;
  if (approved) return `${computerName}: ${title}: apply approved ${approved.text}`;
  return standing
    ? `${computerName}: ${title}: check and apply (${standing.kind} approved for the fleet by ${standing.approver})`
    : `${computerName}: ${title}: check and apply`;
}

export async function onboardServer(input: ServerRunInput): Promise<ServerStatus> {
  const { server } = input;
  // Fewer commands for the same steps and records (ServerRunInput.fleetProtocol); keyed on the input, not a
  // patch, because every patch marker also costs an upsert of TemporalChangeVersion in each server's history.
  const lean = input.fleetProtocol === 2 || input.fleetProtocol === 3;
  // The directory steps run beside the server's own ones (domain/steps.ts OVERLAPPED_PLAN), keyed on the
  // input too: a server recorded before runs its steps in the catalogue's order on replay.
  const overlapped = input.fleetProtocol === 3;
  const rules = { approvers: input.approvers, requestedBy: input.requestedBy, signing: input.signing };
  // The fleet verified the requester's signature; a server of a signed fleet started any other way would
  // take whatever requester and approvers its input names, so it runs only as that fleet's child.
  const parent = wf.workflowInfo().parent?.workflowId;
  // A large fleet starts its servers from its batches (workflows/fleet-batches.ts), which it started itself.
  const startedByFleet =
    parent !== undefined &&
    (parent === fleetWorkflowId(input.fleetId) || isFleetBatchWorkflowId(parent, input.fleetId));
  if (input.signing?.approvals === 'signed' && !startedByFleet) {
    throw wf.ApplicationFailure.nonRetryable(
      `onboardServer of the signed fleet ${input.fleetId} runs only as a child of ${fleetWorkflowId(input.fleetId)} (started ${parent ? `by ${parent}` : 'on its own'}): start the fleet with fleet onboard --key`,
      'NotStartedByFleet'
    );
  }
  const status: ServerStatus = {
    fleetId: input.fleetId,
    fqdn: server.fqdn,
    computerName: server.computerName,
    phase: 'running',
    steps: STEPS.map((s) => ({ step: s.id, status: 'pending', changed: false, summary: '' })),
    pendingApprovals: [],
    decisions: [],
    refused: [],
    refusedCount: 0,
    notes: [],
  };
  let operatorDecision: OperatorDecisionInput | undefined;
  /** Steps started before their turn (overlapped runs), until the loop takes their first attempt's outcome. */
  const early = new Map<
    StepId,
    { outcome: Promise<StepOutcome>; standing?: StandingDecision; settled: Promise<void> }
  >();

  wf.setHandler(serverStatusQuery, () => status, { description: HANDLER_DESCRIPTIONS.serverStatus });
  // One budget of signature checks per workflow task for decisions and operator actions together.
  const budget = new VerificationBudget();
  const gate = installApprovalGate(status, rules, {
    fleetId: input.fleetId,
    budget,
    timeoutMs: input.approvalTimeoutMs,
    standing: input.standingDecisions,
    fqdnOf: () => server.fqdn,
    // A refused decision is shown where an auditor looks: the details, and `MonosyncRefusedDecisions > 0`.
    // Behind a patch: runs recorded before it upserted nothing when they refused a message.
    onRefused: () => {
      if (lean || wf.patched('refused-decision-attribute')) {
        wf.upsertSearchAttributes([{ key: RefusedKey, value: status.refusedCount }]);
      }
      wf.setCurrentDetails(renderServerDetails(status));
    },
  });
  // Operator actions are signed like approvals (the operator must hold an approver's key); nonces are
  // kept so one signed retry cannot be replayed.
  const signing = signingOf(rules, input.fleetId);
  const operatorNonces = new Set<string>();
  const operatorSignatureRefusal = (d: OperatorDecisionInput): string | null =>
    signatureRefusal(
      signing,
      {
        kind: 'operator',
        fleetId: input.fleetId,
        server: server.fqdn,
        action: d.action,
        signer: d.operator,
        reason: d.reason,
      },
      d.signature,
      Date.now(),
      operatorNonces,
      budget
    );
  const resolve = (d: OperatorDecisionInput): string => {
    if (d.signature) operatorNonces.add(d.signature.nonce);
    operatorDecision = d;
    return `${d.action} accepted for ${status.awaitingOperator?.step ?? 'the current step'}`;
  };
  const operatorRefusal = (raw: unknown): string | null => {
    const parsed = parseMessage(operatorDecisionInputSchema, raw, 'resolveStep');
    if (!parsed.ok) return parsed.refusal;
    if (status.phase !== 'awaiting-operator')
      return `${server.fqdn} is not waiting for an operator (phase ${status.phase})`;
    return operatorSignatureRefusal(parsed.value);
  };
  wf.setHandler(resolveStepUpdate, resolve, {
    validator: (raw) => {
      const refusal = operatorRefusal(raw);
      if (refusal) throw wf.ApplicationFailure.nonRetryable(refusal, 'DecisionRefused');
    },
    description: HANDLER_DESCRIPTIONS.resolveStepUpdate,
  });
  wf.setHandler(
    resolveStepSignal,
    (raw) => {
      const refusal = operatorRefusal(raw);
      if (refusal) return gate.refuse(raw, refusal, 'signal');
      resolve(raw);
    },
    { description: HANDLER_DESCRIPTIONS.resolveStepSignal }
  );

  // The fleet run that started this server gets its result as its child's, so it hears of the final
  // phase by signal only once it has continued as new (and said so), or when it asks for every phase.
  let fleetWantsFinalPhase = !lean;
  wf.setHandler(
    fleetContinuedSignal,
    () => {
      fleetWantsFinalPhase = true;
    },
    { description: HANDLER_DESCRIPTIONS.fleetContinued }
  );

  /** What this server waits on, for the fleet's list of servers waiting for a person. */
  const waitingFor = (phase: ServerPhase): string | undefined => {
    let text: string | undefined;
    if (phase === 'awaiting-approval')
      text = `approval of ${status.pendingApprovals.map((p) => p.change.text).join('; ')}`;
    if (phase === 'awaiting-operator' && status.awaitingOperator) {
      const { step, error } = status.awaitingOperator;
      text = `an operator at ${stepDefinition(step).title}: ${error.type}: ${error.message}`;
    }
    return text === undefined ? undefined : text.slice(0, MAX_WAITING_FOR_CHARS);
  };

  /** The phase in the search attributes: a lean fleet starts its servers with `running` there. */
  let indexedPhase: ServerPhase | undefined = lean ? 'running' : undefined;
  /** Shows `phase` in the status, the metrics, the search attributes and the details. */
  const showPhase = (phase: ServerPhase): void => {
    reportServerPhase(status, phase);
    status.phase = phase;
    if (!lean || indexedPhase !== phase) wf.upsertSearchAttributes([{ key: PhaseKey, value: phase }]);
    indexedPhase = phase;
    wf.setCurrentDetails(renderServerDetails(status));
  };
  const setPhase = async (phase: ServerPhase, notifyFleet = false): Promise<void> => {
    showPhase(phase);
    const parent = wf.workflowInfo().parent;
    if (notifyFleet && parent) {
      try {
        const waiting = waitingFor(phase);
        await wf
          .getExternalWorkflowHandle(parent.workflowId)
          .signal(serverPhaseSignal, { fqdn: server.fqdn, phase, ...(waiting ? { waitingFor: waiting } : {}) });
      } catch (err) {
        // The fleet may have been cancelled or finished; the server's own result still tells the story.
        wf.log.warn('could not tell the fleet', { fqdn: server.fqdn, phase, error: String(err) });
      }
    }
  };

  const retry = stepRetryPolicy(input.stepRetry);
  // The check and the apply after an approval are told apart in the Web UI's event list.
  const activityFor = (step: StepId, approved?: PlannedChange, standing?: StandingDecision) =>
    stepActivity(step, {
      startToCloseTimeout: '10 minutes',
      heartbeatTimeout: STEP_HEARTBEAT_TIMEOUT,
      retry,
      summary: stepActivitySummary(server.computerName, step, approved, standing),
    });

  const recordOf = (step: StepId): StepRecord => status.steps.find((s) => s.step === step) as StepRecord;
  const request = (approvedChange?: PlannedChange, standing?: StandingDecision): StepRequest => ({
    fleetId: input.fleetId,
    server,
    context: input.context,
    mode: 'apply',
    ...(approvedChange ? { approvedChange: { id: approvedChange.id, to: approvedChange.to } } : {}),
    ...(standing ? { approvedKind: standing.kind } : {}),
  });
  /** A fleet-level approval of the kind of change this step may make, known before it runs (lean only). */
  const standingApprovalFor = (step: StepId): StandingDecision | undefined => {
    const kind = STEP_MODULES[step].risk?.rule.kind as RiskKind | undefined;
    return lean && kind ? gate.standingApproval(step, kind, server.fqdn) : undefined;
  };

  // The fleet hears of the wait (behind a patch: runs recorded before it sent no signal here).
  const awaitApproval = (change: PlannedChange) => {
    const tellFleet = lean || wf.patched('tell-fleet-awaiting-approval');
    return gate.awaitApproval(change, {
      waiting: () => setPhase('awaiting-approval', tellFleet),
      resumed: () => setPhase('running', tellFleet),
    });
  };

  /** Waits for an operator after a permanent failure; returns their action. */
  const awaitOperator = async (
    step: StepId,
    error: { type: string; message: string }
  ): Promise<OperatorDecisionInput> => {
    status.awaitingOperator = { step, error };
    operatorDecision = undefined;
    await setPhase('awaiting-operator', true);
    let decision: OperatorDecisionInput | undefined;
    await wf.condition(() => (decision = operatorDecision) !== undefined);
    if (!decision) throw new Error('unreachable: condition resolved without a decision');
    status.awaitingOperator = undefined;
    status.notes.push(`${step}: operator ${decision.operator} chose ${decision.action}: ${decision.reason}`);
    await setPhase('running', true);
    return decision;
  };

  /**
   * A step asked for approval of `change`: waits for the decision and says whether to apply it now
   * (true), or records the rejection (false).
   */
  const decideChange = async (
    rec: StepRecord,
    outcome: StepOutcome,
    change: PlannedChange,
    approved?: PlannedChange
  ): Promise<boolean> => {
    // The step table says what the step waits on while it waits, not "running".
    Object.assign(rec, { status: 'approval-required', summary: describeOutcome(outcome) });
    const decision = await awaitApproval(change);
    rec.status = 'running';
    rec.change = change;
    rec.decision = decision;
    if (decision.decision === 'approve' && !approved) return true;
    rec.status = 'rejected';
    rec.summary =
      decision.decision === 'approve'
        ? `${change.text}: the plan changed after approval; not applied`
        : `${change.text}: rejected by ${decision.approver} (${decision.reason})`;
    status.notes.push(`${rec.step}: ${rec.summary}; safer: ${change.saferAlternative}`);
    return false;
  };

  /** A step's activity failed: waits for an operator's retry or skip (an abort or anything else throws). */
  const afterStepFailure = async (rec: StepRecord, err: unknown): Promise<'retry' | 'skip'> => {
    const error = stepFailureOf(err);
    // Cancellation of the server is not a step failure: let it end the workflow.
    if (!error) throw err;
    // A server outside the domain refuses even the snapshot: not applicable, not an operator's retry.
    const outside = STEP_MODULES[rec.step].hooks.notApplicableWhenFailed?.(error.type);
    if (outside) {
      Object.assign(rec, { status: 'skipped', error, summary: `not applicable: ${error.type}: ${error.message}` });
      throw new NotApplicableServer(outside);
    }
    recordFailure(rec, error);
    // Waiting for an operator frees the server's slot in the fleet: nothing of it may still be running.
    if (early.size > 0) await Promise.all([...early.values()].map((e) => e.settled));
    const decision = await awaitOperator(rec.step, error);
    if (decision.action === 'retry') {
      rec.status = 'running';
      rec.error = undefined;
      return 'retry';
    }
    if (decision.action === 'skip') {
      rec.status = 'skipped-by-operator';
      return 'skip';
    }
    throw new AbortServer(`${decision.operator} aborted ${server.fqdn} at ${rec.step}: ${decision.reason}`);
  };

  /**
   * Starts the steps that run beside the server's own ones once `after` is done (overlapped runs only); their
   * first attempt's outcome is taken at their place in OVERLAPPED_PLAN.order, approvals and failures there too.
   */
  const startEarly = (after: StepId | null): void => {
    if (!overlapped) return;
    for (const [step, startAfter] of OVERLAPPED_PLAN.startAfter) {
      if (startAfter !== after || !stepApplies(step, input.context)) continue;
      const standing = standingApprovalFor(step);
      const outcome = activityFor(step, undefined, standing)(request(undefined, standing));
      early.set(step, { outcome, standing, settled: outcome.then(noop, noop) });
      recordOf(step).status = 'running';
    }
  };

  /** What the steps started early did when the server stops before taking their outcome (they have settled). */
  const recordEarly = async (): Promise<void> => {
    for (const [step, e] of early) {
      const rec = recordOf(step);
      try {
        const outcome = await e.outcome;
        recordOutcome(rec, outcome);
      } catch (err) {
        const error = stepFailureOf(err);
        if (error) recordFailure(rec, error);
      }
    }
    early.clear();
  };

  const acceptanceProblems: string[] = [];
  try {
    // Nothing to tell the fleet at the start, so nothing to await (each await costs promises, below).
    showPhase('running');
    startEarly(null);
    for (const step of overlapped ? OVERLAPPED_PLAN.order : STEP_IDS) {
      const rec = recordOf(step);
      if (!stepApplies(step, input.context)) {
        Object.assign(rec, { status: 'skipped', summary: 'skipped by policy' });
        continue;
      }
      status.currentStep = step;
      rec.status = 'running';
      wf.setCurrentDetails(renderServerDetails(status));
      // The step's attempts are awaited here, not in a helper of their own: every async layer adds
      // promises to each step, and the SDK captures a stack trace for every promise a workflow makes
      // (README "What the time goes to"). Approvals and failures take the helpers above.
      let approved: PlannedChange | undefined;
      let outcome: StepOutcome | undefined;
      let started = early.get(step);
      early.delete(step);
      for (;;) {
        // The first attempt may have been started early; every later one (retry, approved apply) starts here.
        const first = started;
        started = undefined;
        const standing = first ? first.standing : approved ? undefined : standingApprovalFor(step);
        try {
          outcome = await (first?.outcome ?? activityFor(step, approved, standing)(request(approved, standing)));
        } catch (err) {
          if ((await afterStepFailure(rec, err)) === 'retry') continue;
          outcome = undefined;
          break;
        }
        if (standing && outcome.change && outcome.changed) {
          // Applied under the fleet's approval: recorded as the fleet's decision, as if it had waited.
          rec.change = outcome.change;
          rec.decision = gate.recordStandingApproval(outcome.change, standing);
        }
        if (outcome.status === 'approval-required' && outcome.change) {
          if (await decideChange(rec, outcome, outcome.change, approved)) {
            approved = outcome.change;
            continue;
          }
          break;
        }
        recordOutcome(rec, outcome);
        break;
      }
      if (!outcome) continue;
      const { hooks } = STEP_MODULES[step];
      const notApplicable = hooks.notApplicable?.(outcome.after);
      if (notApplicable) throw new NotApplicableServer(notApplicable);
      const problems = hooks.acceptanceProblems?.(outcome.after, input.context) ?? [];
      acceptanceProblems.push(...problems);
      status.notes.push(...problems);
      startEarly(step);
    }
    status.currentStep = undefined;
    // Operator notes are an audit trail; a retried step that then succeeded leaves nothing to attend to.
    const attention =
      acceptanceProblems.length > 0 || status.steps.some((s) => ['rejected', 'skipped-by-operator'].includes(s.status));
    await setPhase(attention ? 'needs-attention' : 'onboarded', fleetWantsFinalPhase);
    return resultOf(status);
  } catch (err) {
    if (err instanceof NotApplicableServer) {
      status.currentStep = undefined;
      status.notes.push(
        `${server.fqdn} is ${err.message}; not onboarded. Configure it by hand over HTTPS with explicit credentials instead.`
      );
      for (const rec of status.steps.filter((s) => s.status === 'pending')) {
        rec.status = 'skipped';
        rec.summary = 'not applicable';
      }
      await setPhase('not-applicable', fleetWantsFinalPhase);
      return resultOf(status);
    }
    if (err instanceof AbortServer) {
      await recordEarly();
      status.notes.push(err.message);
      await setPhase('aborted', fleetWantsFinalPhase);
      return resultOf(status);
    }
    if (wf.isCancellation(err)) {
      await wf.CancellationScope.nonCancellable(() => setPhase('aborted', fleetWantsFinalPhase));
      throw err;
    }
    await setPhase('failed', fleetWantsFinalPhase);
    throw err;
  }
}
