/**
 * Onboards one Exchange server: every step of the manual in order, starting with a read of its state. A risky change
 * waits for a second person's decision; a permanent failure waits for an operator (retry, skip,
 * abort) instead of failing the fleet.
 */
import * as wf from '@temporalio/workflow';
import { operatorDecisionInputSchema, parseMessage, type OperatorDecisionInput } from '../domain/approvals';
import { stepRetryPolicy } from '../domain/failures';
import { stepApplies, type StepOutcome, type StepRequest } from '../domain/onboarding';
import type { PlannedChange } from '../domain/risk';
import { PhaseKey } from '../domain/search-attributes';
import type { ServerPhase, ServerRunInput, ServerStatus, StepRecord } from '../domain/status';
import { STEP_MODULES, STEPS, stepDefinition, type StepId } from '../domain/steps';
import { installApprovalGate } from './approval-gate';
import { resolveStepSignal, resolveStepUpdate, serverPhaseSignal, serverStatusQuery } from './messages';
import { describeOutcome, renderServerDetails } from './render';
import { STEP_HEARTBEAT_TIMEOUT, stepActivity, stepFailureOf } from './step-activities';

class AbortServer extends Error {}

/**
 * The workflow's result: the status without each step's full before/after state (the `status` query
 * has those). The result is copied into the fleet's history for every server, so it is kept small.
 */
function resultOf(status: ServerStatus): ServerStatus {
  return { ...status, steps: status.steps.map(({ before: _before, after: _after, ...rest }) => rest) };
}

export async function onboardServer(input: ServerRunInput): Promise<ServerStatus> {
  const { server } = input;
  const rules = { approvers: input.approvers, requestedBy: input.requestedBy };
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

  wf.setHandler(serverStatusQuery, () => status);
  const gate = installApprovalGate(status, rules, {
    timeoutMs: input.approvalTimeoutMs,
    standing: input.standingDecisions,
    fqdnOf: () => server.fqdn,
  });
  const resolve = (d: OperatorDecisionInput): string => {
    operatorDecision = d;
    return `${d.action} accepted for ${status.awaitingOperator?.step ?? 'the current step'}`;
  };
  const operatorRefusal = (raw: unknown): string | null => {
    const parsed = parseMessage(operatorDecisionInputSchema, raw, 'resolveStep');
    if (!parsed.ok) return parsed.refusal;
    if (status.phase !== 'awaiting-operator')
      return `${server.fqdn} is not waiting for an operator (phase ${status.phase})`;
    return null;
  };
  wf.setHandler(resolveStepUpdate, resolve, {
    validator: (raw) => {
      const refusal = operatorRefusal(raw);
      if (refusal) throw wf.ApplicationFailure.nonRetryable(refusal, 'DecisionRefused');
    },
    description: 'Retry, skip or abort the step this server is stuck on',
  });
  wf.setHandler(resolveStepSignal, (raw) => {
    const refusal = operatorRefusal(raw);
    if (refusal) return gate.refuse(raw, refusal, 'signal');
    resolve(raw);
  });

  const setPhase = async (phase: ServerPhase, notifyFleet = false): Promise<void> => {
    status.phase = phase;
    wf.upsertSearchAttributes([{ key: PhaseKey, value: phase }]);
    wf.setCurrentDetails(renderServerDetails(status));
    const parent = wf.workflowInfo().parent;
    if (notifyFleet && parent) {
      try {
        await wf.getExternalWorkflowHandle(parent.workflowId).signal(serverPhaseSignal, { fqdn: server.fqdn, phase });
      } catch (err) {
        // The fleet may have been cancelled or finished; the server's own result still tells the story.
        wf.log.warn('could not tell the fleet', { fqdn: server.fqdn, phase, error: String(err) });
      }
    }
  };

  const retry = stepRetryPolicy(input.stepRetry.initialIntervalMs, input.stepRetry.maximumAttempts);
  const activityFor = (step: StepId) =>
    stepActivity(step, {
      startToCloseTimeout: '10 minutes',
      heartbeatTimeout: STEP_HEARTBEAT_TIMEOUT,
      retry,
      summary: `${server.computerName}: ${stepDefinition(step).title}`,
    });

  const recordOf = (step: StepId): StepRecord => status.steps.find((s) => s.step === step) as StepRecord;
  const request = (approvedChange?: PlannedChange): StepRequest => ({
    fleetId: input.fleetId,
    server,
    context: input.context,
    mode: 'apply',
    ...(approvedChange ? { approvedChange: { id: approvedChange.id, to: approvedChange.to } } : {}),
  });

  const awaitApproval = (change: PlannedChange) =>
    gate.awaitApproval(change, { waiting: () => setPhase('awaiting-approval'), resumed: () => setPhase('running') });

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

  const runStep = async (step: StepId): Promise<StepOutcome | undefined> => {
    const rec = recordOf(step);
    status.currentStep = step;
    rec.status = 'running';
    wf.setCurrentDetails(renderServerDetails(status));
    let approved: PlannedChange | undefined;
    for (;;) {
      try {
        const outcome = await activityFor(step)(request(approved));
        if (outcome.status === 'approval-required' && outcome.change) {
          const decision = await awaitApproval(outcome.change);
          rec.change = outcome.change;
          rec.decision = decision;
          if (decision.decision === 'approve' && !approved) {
            approved = outcome.change;
            continue;
          }
          rec.status = 'rejected';
          rec.summary =
            decision.decision === 'approve'
              ? `${outcome.change.text}: the plan changed after approval; not applied`
              : `${outcome.change.text}: rejected by ${decision.approver} (${decision.reason})`;
          status.notes.push(`${step}: ${rec.summary}; safer: ${outcome.change.saferAlternative}`);
          return outcome;
        }
        Object.assign(rec, {
          status: outcome.status,
          changed: outcome.changed,
          summary: describeOutcome(outcome),
          before: outcome.before,
          after: outcome.after,
          ...(outcome.change ? { change: outcome.change } : {}),
        });
        return outcome;
      } catch (err) {
        const error = stepFailureOf(err);
        // Cancellation of the server is not a step failure: let it end the workflow.
        if (!error) throw err;
        rec.status = 'failed';
        rec.error = error;
        rec.summary = `${error.type}: ${error.message}`;
        const decision = await awaitOperator(step, error);
        if (decision.action === 'retry') {
          rec.status = 'running';
          rec.error = undefined;
          continue;
        }
        if (decision.action === 'skip') {
          rec.status = 'skipped-by-operator';
          return undefined;
        }
        throw new AbortServer(`${decision.operator} aborted ${server.fqdn} at ${step}: ${decision.reason}`);
      }
    }
  };

  const acceptanceProblems: string[] = [];
  try {
    await setPhase('running');
    for (const def of STEPS) {
      if (!stepApplies(def.id, input.context)) {
        Object.assign(recordOf(def.id), { status: 'skipped', summary: 'skipped by policy' });
        continue;
      }
      const outcome = await runStep(def.id);
      if (!outcome) continue;
      const { hooks } = STEP_MODULES[def.id];
      const notApplicable = hooks.notApplicable?.(outcome.after);
      if (notApplicable) {
        status.notes.push(
          `${server.fqdn} is ${notApplicable}; not onboarded. Connect it over HTTPS with explicit credentials instead.`
        );
        for (const rec of status.steps.filter((s) => s.status === 'pending')) {
          rec.status = 'skipped';
          rec.summary = 'not applicable';
        }
        await setPhase('not-applicable', true);
        return resultOf(status);
      }
      const problems = hooks.acceptanceProblems?.(outcome.after, input.context) ?? [];
      acceptanceProblems.push(...problems);
      status.notes.push(...problems);
    }
    status.currentStep = undefined;
    // Operator notes are an audit trail; a retried step that then succeeded leaves nothing to attend to.
    const attention =
      acceptanceProblems.length > 0 || status.steps.some((s) => ['rejected', 'skipped-by-operator'].includes(s.status));
    await setPhase(attention ? 'needs-attention' : 'onboarded', true);
    return resultOf(status);
  } catch (err) {
    if (err instanceof AbortServer) {
      status.notes.push(err.message);
      await setPhase('aborted', true);
      return resultOf(status);
    }
    if (wf.isCancellation(err)) {
      await wf.CancellationScope.nonCancellable(() => setPhase('aborted', true));
      throw err;
    }
    await setPhase('failed', true);
    throw err;
  }
}
