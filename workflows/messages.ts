/**
 * Queries, signals and updates of the onboarding workflows. Shared by the workflows and the CLI;
 * pure definitions, no I/O.
 */
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type {
  DecisionInput,
  KindDecisionInput,
  OperatorDecisionInput,
  RecordedDecision,
  StandingDecision,
} from '../domain/approvals';
import type { RotationReport } from '../domain/rotation';
import type { FleetStatus, ServerPhaseMessage, ServerStatus } from '../domain/status';

// --- onboardServer ---
export const serverStatusQuery = defineQuery<ServerStatus>('status');
/** Approve or reject one pending risky change (validated: known, undecided, approver on the list, not the requester). */
export const decideChangeUpdate = defineUpdate<RecordedDecision, [DecisionInput]>('decideChange');
/** The same decision as a signal, e.g. sent from the Temporal Web UI; checked by the same rules, refusals recorded. */
export const decideChangeSignal = defineSignal<[DecisionInput]>('decideChange');
/** A fleet-level decision on one kind of change, relayed by the fleet workflow. */
export const standingDecisionSignal = defineSignal<[StandingDecision]>('standingDecision');
/** Retry, skip or abort the step a server is stuck on. */
export const resolveStepUpdate = defineUpdate<string, [OperatorDecisionInput]>('resolveStep');
export const resolveStepSignal = defineSignal<[OperatorDecisionInput]>('resolveStep');

// --- onboardFleet ---
export const fleetStatusQuery = defineQuery<FleetStatus>('status');
/** Approve or reject one kind of risky change for all or for listed servers. */
export const decideKindUpdate = defineUpdate<StandingDecision, [KindDecisionInput]>('decideKind');
/**
 * Sent by a server workflow to its fleet when its phase matters to the fleet (final, stuck, resumed).
 * Validated like any message; a final phase is confirmed with Temporal before the fleet records it.
 */
export const serverPhaseSignal = defineSignal<[ServerPhaseMessage]>('serverPhase');

// --- rotateCertificates ---
export const rotationStatusQuery = defineQuery<RotationReport>('status');
