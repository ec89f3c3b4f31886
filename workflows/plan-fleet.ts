/**
 * The read-only plan of a fleet: every step of every server in plan mode (check only), bounded by
 * `maxParallel`. Runs the same activities as onboarding, so the plan cannot drift from the real run.
 */
import * as wf from '@temporalio/workflow';
import type { ServerSpec } from '../domain/fleet';
import { planWorkflowId } from '../domain/ids';
import { contextOf, stepApplies, type OnboardingContext } from '../domain/onboarding';
import type { PlanRunInput, PlanRunResult, PlannedStep, ServerPlan } from '../domain/plan';
import { STEP_MODULES, STEPS } from '../domain/steps';
import { inLanes } from '../lib/lanes';
import { continueAsNewDue } from './history-budget';
import { summarizeChange } from './render';
import { stepActivity, stepFailureOf } from './step-activities';

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
    const plan = stepActivity(def.id, {
      startToCloseTimeout: '5 minutes',
      // Permanent failures are raised non-retryable (activities/failures.ts).
      retry: { maximumAttempts: 3, initialInterval: '2s' },
      summary: `plan ${server.computerName}: ${def.title}`,
    });
    try {
      const outcome = await plan({ fleetId, server, context, mode: 'plan' });
      const { hooks } = STEP_MODULES[def.id];
      const drift = hooks.drift?.(outcome.before, server, context);
      steps.push({
        step: def.id,
        status: outcome.status,
        summary:
          outcome.status === 'would-change' ? summarizeChange(outcome.before, outcome.after) : 'already compliant',
        ...(outcome.change ? { change: outcome.change } : {}),
        ...(drift ? { drift } : {}),
      });
      const notApplicable = hooks.notApplicable?.(outcome.after);
      if (notApplicable) note = `${notApplicable}: not onboarded`;
    } catch (err) {
      const failure = stepFailureOf(err);
      if (!failure) throw err;
      const outside = STEP_MODULES[def.id].hooks.notApplicableWhenFailed?.(failure.type);
      if (outside) {
        steps.push({ step: def.id, status: 'skipped', summary: `not applicable: ${failure.type}: ${failure.message}` });
        note = `${outside}: not onboarded`;
        continue;
      }
      steps.push({ step: def.id, status: 'failed', summary: `${failure.type}: ${failure.message}` });
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
  const cursor = await inLanes(
    spec.servers,
    {
      width: spec.settings.maxParallel,
      start: input.carry?.cursor ?? 0,
      stop: () => continueAsNewDue(spec.settings.historyEventBudget),
    },
    async (server, index) => {
      ids[index] = `${planWorkflowId(spec.fleetId)}/${runTag}/${server.fqdn}`;
      await wf.executeChild(planServer, {
        workflowId: ids[index],
        args: [server, context, spec.fleetId],
        staticSummary: `Plan ${server.computerName} (${server.fqdn})`,
      });
    }
  );
  if (cursor < spec.servers.length) {
    return wf.continueAsNew<typeof planFleet>({ spec, carry: { cursor, runTag, serverPlanIds: ids } });
  }
  return { fleetId: spec.fleetId, serverPlanIds: ids };
}
