/**
 * Monthly certificate rotation of a fleet's WinRM HTTPS listeners (started by a Temporal Schedule).
 * Per server: read the listener's certificate; when it is expired or within `renewBeforeDays`, move
 * the listener to the longest-valid suitable certificate (Set-HttpsListener's rule: CN = the FQDN, not
 * bound to Exchange services, a chain the server trusts, or a self-signed one the Monosync side trusts),
 * verify over a fresh TLS connection and put the old thumbprint back if that fails (the activity does
 * check → change → verify → roll back). A successor the rule refuses leaves the listener as it is.
 */
import * as wf from '@temporalio/workflow';
import type { z } from 'zod';
import { stepRetryOf, stepRetryPolicy } from '../domain/failures';
import { signingPolicyOf, type ServerSpec } from '../domain/fleet';
import { contextOf, type StepOutcome, type StepRequest } from '../domain/onboarding';
import type { PlannedChange } from '../domain/risk';
import type { RotationReport, RotationRunInput, ServerRotation } from '../domain/rotation';
import { FleetKey, RefusedKey } from '../domain/search-attributes';
import { STEP_MODULES } from '../domain/steps';
import { inLanes } from '../lib/lanes';
import { step as listenerStep } from '../steps/Set-HttpsListener/step';
import { installApprovalGate, type ApprovalLedger } from './approval-gate';
import { continueAsNewDue } from './history-budget';
import { HANDLER_DESCRIPTIONS, rotationStatusQuery } from './messages';
import { renderRotationDetails } from './render';
import { STEP_HEARTBEAT_TIMEOUT, stepActivity, stepFailureOf } from './step-activities';

type ListenerState = z.infer<typeof listenerStep.state>;

const UNREACHABLE = ['WinRMUnavailable', 'WinRMTimeout', 'ConnectionDropped', 'ShellQuotaExceeded', 'FirewallBlocked'];

/** What one listener call does, for the Web UI: check (plan), renew (apply) or apply an approved change. */
export function rotationActivitySummary(req: StepRequest): string {
  const name = req.server.computerName;
  if (req.mode === 'plan') return `${name}: check the listener certificate`;
  if (req.approvedChange) return `${name}: apply approved change ${req.approvedChange.id}`;
  return `${name}: renew the listener certificate`;
}

export async function rotateCertificates(input: RotationRunInput): Promise<RotationReport> {
  const { spec } = input;
  // The fleet's own retry settings, as onboarding uses them (transient WinRM failures back off).
  const activityOptions = {
    startToCloseTimeout: '10 minutes',
    heartbeatTimeout: STEP_HEARTBEAT_TIMEOUT,
    retry: stepRetryPolicy(stepRetryOf(spec.settings.stepRetry)),
  } as const;
  // Each call says what it does for which server in the Web UI's event list (check, renew, apply approved).
  const ensureListener = (req: StepRequest): Promise<StepOutcome> =>
    stepActivity(listenerStep.definition.id, {
      ...activityOptions,
      summary: rotationActivitySummary(req),
    })(req);
  /** Onboarding's first read of a server, to tell a server rotation does not apply to (Edge) from a failure. */
  const readSnapshot = (req: StepRequest): Promise<StepOutcome> =>
    stepActivity('preflight', {
      ...activityOptions,
      summary: `${req.server.computerName}: read the server (is rotation applicable?)`,
    })(req);
  // Findable by the fleet filter of the Web UI however the run was started (schedule, CLI, by hand);
  // behind a patch, as runs recorded before it have no such command.
  if (wf.workflowInfo().typedSearchAttributes.get(FleetKey) === undefined && wf.patched('rotation-fleet-attribute')) {
    wf.upsertSearchAttributes([{ key: FleetKey, value: spec.fleetId }]);
  }
  const context = contextOf(spec);
  const results: Record<string, ServerRotation> = { ...(input.carry?.results ?? {}) };
  const run = input.carry?.run ?? 1;
  // Who approved what must survive continue-as-new: it is the audit trail of the rotation.
  const ledger: ApprovalLedger = {
    pendingApprovals: [],
    decisions: [...(input.carry?.decisions ?? [])],
    refused: [...(input.carry?.refused ?? [])],
  };
  // Set once the report exists: a signal buffered before the workflow started reaches the gate at once.
  let showDetails = (): void => undefined;
  const gate = installApprovalGate(
    ledger,
    { approvers: spec.approvers, requestedBy: input.requestedBy, signing: signingPolicyOf(spec) },
    {
      fleetId: spec.fleetId,
      timeoutMs: spec.settings.approvalTimeout,
      standing: [],
      fqdnOf: (change) => change.fqdn,
      onRefused: () => {
        if (wf.patched('refused-decision-attribute')) {
          wf.upsertSearchAttributes([{ key: RefusedKey, value: ledger.refusedCount ?? ledger.refused.length }]);
        }
        showDetails();
      },
    }
  );
  const report = (): RotationReport => {
    const counts: RotationReport['counts'] = {};
    for (const r of Object.values(results)) counts[r.outcome] = (counts[r.outcome] ?? 0) + 1;
    return {
      fleetId: spec.fleetId,
      results,
      counts,
      ...ledger,
      run,
      done: Object.keys(results).length === spec.servers.length,
    };
  };
  wf.setHandler(rotationStatusQuery, report, { description: HANDLER_DESCRIPTIONS.rotationStatus });
  showDetails = () => wf.setCurrentDetails(renderRotationDetails(report(), spec.servers.length));
  showDetails();

  /** A reachable server without a listener that onboarding leaves alone (DC, Edge): reported so, not failed. */
  const notApplicable = async (server: ServerSpec): Promise<ServerRotation | undefined> => {
    try {
      const snapshot = await readSnapshot({ fleetId: spec.fleetId, server, context, mode: 'plan' });
      const why = STEP_MODULES.preflight.hooks.notApplicable?.(
        snapshot.after as Parameters<NonNullable<typeof STEP_MODULES.preflight.hooks.notApplicable>>[0]
      );
      return why ? { outcome: 'not-applicable', message: `${server.fqdn} is ${why}; not rotated` } : undefined;
    } catch (err) {
      if (!stepFailureOf(err)) throw err;
      return undefined;
    }
  };

  const rotateOne = async (server: ServerSpec): Promise<ServerRotation> => {
    const request = (approved?: PlannedChange): StepRequest => ({
      fleetId: spec.fleetId,
      server,
      context,
      mode: 'apply',
      outsideDomainIsNotApplicable: true,
      ...(approved ? { approvedChange: { id: approved.id, to: approved.to } } : {}),
    });
    let from: string | undefined;
    try {
      const plan = await ensureListener({ ...request(), mode: 'plan' });
      // The activity completes saying so; runs recorded before it failed instead (the catch below).
      if (plan.status === 'not-applicable')
        return { outcome: 'not-applicable', message: `${server.fqdn} is ${plan.notApplicable}; not rotated` };
      const before = plan.before as ListenerState;
      // Rotation keeps listeners fresh; creating one is onboarding's job (and its approvals).
      if (!before.listener) {
        return (
          (await notApplicable(server)) ?? {
            outcome: 'no-listener',
            message: 'no HTTPS listener: onboard the server first',
          }
        );
      }
      from = before.listener.thumbprint;
      if (plan.status === 'compliant')
        return { outcome: 'still-valid', from, to: from, notAfter: before.certificate?.notAfter };
      let outcome = await ensureListener(request());
      if (outcome.status === 'approval-required' && outcome.change) {
        const decision = await gate.awaitApproval(outcome.change, {
          waiting: async () => showDetails(),
          resumed: async () => showDetails(),
        });
        if (decision.decision === 'reject') {
          return {
            outcome: 'rejected',
            from,
            to: from,
            message: `${outcome.change.text}: rejected by ${decision.approver} (${decision.reason})`,
          };
        }
        const approvedChange = outcome.change;
        outcome = await ensureListener(request(approvedChange));
        if (outcome.status === 'approval-required') {
          // The plan moved on (another certificate, another day) since the approval: not applied.
          return {
            outcome: 'failed',
            from,
            to: from,
            message: `${approvedChange.text}: the plan changed after approval; not applied`,
          };
        }
      }
      const after = outcome.after as ListenerState;
      return {
        outcome: outcome.changed ? 'rotated' : 'still-valid',
        from,
        to: after.listener?.thumbprint,
        notAfter: after.certificate?.notAfter,
      };
    } catch (err) {
      const failure = stepFailureOf(err);
      if (!failure) throw err;
      const { type } = failure;
      // Onboarding's own rule: Kerberos cannot reach an Edge Transport or workgroup server at all.
      const outside = STEP_MODULES.preflight.hooks.notApplicableWhenFailed?.(type);
      if (outside) return { outcome: 'not-applicable', message: `${server.fqdn} is ${outside}; not rotated (${type})` };
      const message = `${type}: ${failure.message}`;
      if (type === 'VerificationFailed') return { outcome: 'failed-rolled-back', from, to: from, message };
      if (UNREACHABLE.includes(type)) return { outcome: 'unreachable', message };
      return { outcome: 'failed', message };
    }
  };

  const cursor = await inLanes(
    spec.servers,
    {
      width: spec.settings.maxParallel,
      start: input.carry?.cursor ?? 0,
      stop: () => continueAsNewDue(spec.settings.historyEventBudget),
    },
    async (server) => {
      results[server.fqdn] = await rotateOne(server);
      showDetails();
    }
  );
  if (cursor < spec.servers.length) {
    await wf.condition(wf.allHandlersFinished);
    return wf.continueAsNew<typeof rotateCertificates>({
      ...input,
      carry: { cursor, results, run: run + 1, decisions: ledger.decisions, refused: ledger.refused },
    });
  }
  await wf.condition(wf.allHandlersFinished);
  return report();
}
