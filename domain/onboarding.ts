/**
 * What a step activity is asked to do and what it answers, and how a step request becomes a script
 * call. Shared by workflows (types only), activities and the CLI.
 */
import type { FleetSpec, ServerSpec } from './fleet';
import type { PlannedChange } from './risk';
import type { JsonValue, ScriptCall, ScriptTarget } from './scripts';
import { STEP_MODULES, type RiskKind, type StepId } from './steps';

/** The part of the fleet spec every step of one server needs (no server list, nothing secret). */
export type OnboardingContext = Pick<
  FleetSpec,
  'serviceAccount' | 'domain' | 'domainController' | 'monosyncServers' | 'policy'
>;

export interface StepRequest {
  fleetId: string;
  server: ServerSpec;
  context: OnboardingContext;
  /** `plan` reads and predicts; `apply` checks, changes only when needed, verifies. */
  mode: 'plan' | 'apply';
  /** The risky change a person approved; applied only if the plan still names exactly this change. */
  approvedChange?: Pick<PlannedChange, 'id' | 'to'>;
  /**
   * A kind of risky change the fleet approved for this server before the step ran (a fleet-level
   * decision): a plan that makes a change of this kind applies it in the same activity.
   */
  approvedKind?: RiskKind;
  /**
   * Rotation asks this: a server Kerberos cannot reach (Edge Transport, workgroup) is answered as
   * `not-applicable`, the way onboarding's first read classes it, instead of failing the activity.
   */
  outsideDomainIsNotApplicable?: boolean;
}

export type StepStatus = 'compliant' | 'changed' | 'would-change' | 'approval-required' | 'skipped' | 'not-applicable';

export interface StepOutcome {
  step: StepId;
  status: StepStatus;
  changed: boolean;
  before: unknown;
  after: unknown;
  evidence: Record<string, unknown>;
  warnings: string[];
  /** The risky change this step makes (approval-required), or made with approval. */
  change?: PlannedChange;
  /** Why the server is outside what the product manages (status `not-applicable`). */
  notApplicable?: string;
}

export function contextOf(spec: FleetSpec): OnboardingContext {
  return {
    serviceAccount: spec.serviceAccount,
    domain: spec.domain,
    domainController: spec.domainController,
    monosyncServers: spec.monosyncServers,
    policy: spec.policy,
  };
}

/** Whether the policy asks for this step at all (e.g. `delegation: skip`). */
export function stepApplies(step: StepId, context: OnboardingContext): boolean {
  return !STEP_MODULES[step].hooks.skippedByPolicy?.(context);
}

function stepTarget(step: StepId, server: ServerSpec, context: OnboardingContext): ScriptTarget {
  const module = STEP_MODULES[step];
  if (module.hooks.target) return module.hooks.target(server, context);
  const runsOn = module.definition.runsOn;
  if (runsOn === 'ad') return { host: 'ad', domainController: context.domainController };
  if (runsOn === 'worker') return { host: 'worker', onBehalfOf: server.fqdn };
  return { host: 'exchange', fqdn: server.fqdn };
}

/** The script call that carries out a step for one server. Values are validated again by the runner. */
export function scriptCallFor(
  step: StepId,
  mode: ScriptCall['mode'],
  server: ServerSpec,
  context: OnboardingContext
): ScriptCall {
  const module = STEP_MODULES[step];
  return {
    script: module.definition.script,
    mode,
    target: stepTarget(step, server, context),
    params: module.paramsFor(server, context) as Record<string, JsonValue>,
  };
}
