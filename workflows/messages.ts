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
import type { BatchProgress, FleetStatus, ServerPhaseMessage, ServerStatus } from '../domain/status';

// --- onboardServer ---
export const serverStatusQuery = defineQuery<ServerStatus>('status');
/** Approve or reject one pending risky change (validated: known, undecided, approver on the list, not the requester). */
export const decideChangeUpdate = defineUpdate<RecordedDecision, [DecisionInput]>('decideChange');
/** The same decision as a signal, e.g. sent from the Temporal Web UI; checked by the same rules, refusals recorded. */
export const decideChangeSignal = defineSignal<[DecisionInput]>('decideChange');
/** A fleet-level decision on one kind of change, relayed by the fleet workflow. */
export const standingDecisionSignal = defineSignal<[StandingDecision]>('standingDecision');
/** Fleet-level decisions taken within moments of each other, relayed in one signal (each checked as above). */
export const standingDecisionsSignal = defineSignal<[StandingDecision[]]>('standingDecisions');
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
/**
 * Sent by the fleet to the servers it started when it continues as new: their results no longer reach
 * it as a child's, so each then signals its final phase (`serverPhase`). Carries nothing.
 */
export const fleetContinuedSignal = defineSignal('fleetContinued');
/** Sent by a batch of a large fleet to the fleet now and then: what changed since its last report. */
export const batchProgressSignal = defineSignal<[BatchProgress]>('batchProgress');
/**
 * Sent by a large fleet to a batch it started while the one before it in its lane still drains: how many
 * servers it may now have in flight (up to its share of the fleet's maxParallel).
 */
export const batchSlotsSignal = defineSignal<[number]>('batchSlots');
/** Sent by a large fleet to its batches: a decision it took (`decideKind`), for the batch to relay to its servers. */
export const fleetDecisionsSignal = defineSignal<[StandingDecision[]]>('fleetDecisions');

// --- rotateCertificates ---
export const rotationStatusQuery = defineQuery<RotationReport>('status');

/**
 * What each handler is for, as the Web UI lists them (Send a Signal, Send an Update, Queries). Given to
 * `setHandler` where each is registered. Internal ones say so: the UI offers them like any other.
 */
export const HANDLER_DESCRIPTIONS = {
  serverStatus:
    "The server's whole status: phase, every step with its before and after state, pending approvals, decisions, refused messages, notes",
  decideChangeUpdate:
    'Approve or reject one pending risky change, input {"changeId", "decision", "approver", "reason"}: refused at once with the reason when a rule is broken (an approver on the list, not the requester; a signed fleet needs the "signature" too: fleet sign-decision prints the whole input). Use this, not the signal',
  decideChangeSignal:
    'The same decision as a signal, for clients that cannot send Updates: checked by the same rules, but the UI says "signaled" either way; a refused one shows in Current Details. Prefer the Update',
  standingDecision:
    "internal: sent by the fleet workflow, do not send by hand (relays a fleet-level decision on one kind of change; use the fleet's Update decideKind)",
  standingDecisions:
    "internal: sent by the fleet workflow, do not send by hand (relays fleet-level decisions taken together; use the fleet's Update decideKind)",
  resolveStepUpdate:
    'Retry, skip or abort the step this server is stuck on, input {"action": "retry|skip|abort", "operator", "reason"}: refused at once when this server is not waiting for an operator',
  resolveStepSignal:
    'The same operator action as a signal, for clients that cannot send Updates: checked by the same rules, a refused one shows in Current Details. Prefer the Update',
  fleetContinued:
    'internal: sent by the fleet workflow when it continues as new, do not send by hand (this server then reports its final phase to the fleet by signal)',
  batchProgress:
    "internal: sent by the batches of a large fleet, do not send by hand (what changed in a batch; shown in the status and details, while each server's final phase comes from its batch's result)",
  batchSlots:
    'internal: sent by the fleet workflow to its batches, do not send by hand (how many servers a batch may run while the batch before it finishes)',
  fleetDecisions:
    "internal: sent by the fleet workflow to its batches, do not send by hand (relays the fleet's decisions; use the fleet's Update decideKind)",
  fleetStatus:
    "The fleet's status: servers by phase, which wait for a person and on what, fleet-level decisions, refused messages",
  decideKind:
    'Approve or reject one kind of risky change for all servers or listed ones, input {"kind", "servers": "all" or [fqdn], "decision", "approver", "reason"}',
  serverPhase:
    'internal: sent by the server workflows, do not send by hand (a server tells its fleet it waits for a person or runs again; final phases are checked with Temporal)',
  rotationStatus: "The rotation run's report: each server's outcome, pending approvals, decisions, refused messages",
} as const;
