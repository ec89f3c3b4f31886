/**
 * The read-only plan of a fleet: every step of every server in plan mode (check only), bounded by
 * `maxParallel`. Runs the same activities as onboarding, so the plan cannot drift from the real run.
 */
import * as wf from '@temporalio/workflow';
import type { OnboardingActivities } from '../activities';
import { NON_RETRYABLE_TYPES } from '../domain/failures';
import { adTaskQueueFor, planWorkflowId } from '../domain/ids';
import { contextOf, stepApplies, type OnboardingContext } from '../domain/onboarding';
import type { PlanRunInput, PlanRunResult, PlannedStep, ServerPlan } from '../domain/plan';
import { trustedHostsEntries, type ServerSpec } from '../domain/fleet';
import { STEPS, type ServerSnapshot, type StepId, type StepState } from '../domain/steps';
import { unrequestedWildcard } from '../domain/risk';
import { summarizeChange } from './render';
import { continueAsNewDue, inLanes } from './fan-out';

function driftOf(step: StepId, before: unknown, server: ServerSpec, context: OnboardingContext): { drift?: string } {
  if (step !== 'setTrustedHosts') return {};
  const drift = unrequestedWildcard(
    (before as StepState<'setTrustedHosts'>).value,
    trustedHostsEntries(context, server)
  );
  return drift ? { drift } : {};
}

export async function planServer(server: ServerSpec, context: OnboardingContext, fleetId: string): Promise<ServerPlan> {
  const steps: PlannedStep[] = [];
  let note: string | undefined;
  for (const def of STEPS) {
    if (note) {
      steps.push({ step: def.id, status: 'skipped', summary: 'not applicable' });
      continue;
    }
    if (!stepApplies(def.id, context)) {
      steps.push({ step: def.id, status: 'skipped', summary: 'skipped by policy' });
      continue;
    }
    const act = wf.proxyActivities<OnboardingActivities>({
      startToCloseTimeout: '5 minutes',
      retry: { maximumAttempts: 3, initialInterval: '2s', nonRetryableErrorTypes: [...NON_RETRYABLE_TYPES] },
      summary: `plan ${server.computerName}: ${def.title}`,
      ...(def.runsOn === 'ad' ? { taskQueue: adTaskQueueFor(wf.workflowInfo().taskQueue) } : {}),
    });
    try {
      const outcome = await act[def.id]({ fleetId, server, context, mode: 'plan' });
      steps.push({
        step: def.id,
        status: outcome.status,
        summary:
          outcome.status === 'would-change' ? summarizeChange(outcome.before, outcome.after) : 'already compliant',
        ...(outcome.change ? { change: outcome.change } : {}),
        ...driftOf(def.id, outcome.before, server, context),
      });
      if (def.id === 'preflight') {
        const snap = outcome.after as ServerSnapshot;
        if (snap.isEdgeTransport || snap.isDomainController || !snap.domainJoined) {
          note = snap.isEdgeTransport
            ? 'Edge Transport server: not onboarded'
            : 'not a domain member server: not onboarded';
        }
      }
    } catch (err) {
      const cause = err instanceof wf.ActivityFailure ? err.cause : undefined;
      steps.push({
        step: def.id,
        status: 'failed',
        summary:
          cause instanceof wf.ApplicationFailure ? `${cause.type}: ${cause.message}` : String(cause?.message ?? err),
      });
    }
  }
  return {
    fqdn: server.fqdn,
    computerName: server.computerName,
    applicable: note === undefined,
    ...(note ? { note } : {}),
    steps,
  };
}

export async function planFleet(input: PlanRunInput): Promise<PlanRunResult> {
  const { spec } = input;
  const context = contextOf(spec);
  // Child ids carry the first run's id, so two plans of the same fleet never collide.
  const runTag = input.carry?.runTag ?? wf.workflowInfo().runId.slice(0, 8);
  const ids = [...(input.carry?.serverPlanIds ?? [])];
  let cursor = input.carry?.cursor ?? 0;
  const historyTooLong = (): boolean => continueAsNewDue(spec.settings.historyEventBudget);
  const lane = async (): Promise<void> => {
    while (cursor < spec.servers.length && !historyTooLong()) {
      const index = cursor++;
      const server = spec.servers[index];
      ids[index] = `${planWorkflowId(spec.fleetId)}/${runTag}/${server.fqdn}`;
      await wf.executeChild(planServer, {
        workflowId: ids[index],
        args: [server, context, spec.fleetId],
        staticSummary: `Plan ${server.computerName} (${server.fqdn})`,
      });
    }
  };
  await inLanes(Math.min(spec.settings.maxParallel, spec.servers.length), lane);
  if (cursor < spec.servers.length) {
    return wf.continueAsNew<typeof planFleet>({ spec, carry: { cursor, runTag, serverPlanIds: ids } });
  }
  return { fleetId: spec.fleetId, serverPlanIds: ids };
}
