/** What `fleet plan` reports: per server, what each step would change and which changes need approval. */
import type { FleetSpec } from './fleet';
import type { StepStatus } from './onboarding';
import type { PlannedChange } from './risk';
import type { StepId } from './steps';

export interface PlannedStep {
  step: StepId;
  status: StepStatus | 'failed';
  /** `before -> after` of the fields that would change, or why the step is skipped or failed. */
  summary: string;
  /** The risky change that will wait for approval. */
  change?: PlannedChange;
  /** Compliant for onboarding, yet not what the policy asks for (an audit finding), e.g. a hand-set '*'. */
  drift?: string;
}

export interface ServerPlan {
  fqdn: string;
  computerName: string;
  applicable: boolean;
  note?: string;
  steps: PlannedStep[];
}

export interface FleetPlan {
  fleetId: string;
  servers: ServerPlan[];
}

export interface PlanRunInput {
  spec: FleetSpec;
  /** Carried across continue-as-new. */
  carry?: { cursor: number; runTag: string; serverPlanIds: string[] };
}

/**
 * Where each server's plan is: the `planServer` child workflow ids, in fleet order. The plans stay in
 * those children's results, so a fleet of thousands never hits the payload limit of one result.
 */
export interface PlanRunResult {
  fleetId: string;
  serverPlanIds: string[];
}
