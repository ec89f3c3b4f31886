/** Certificate rotation and drift audit: inputs and reports. Types only, shared by workflows and CLI. */
import type { PendingApproval, RecordedDecision, RefusedDecision } from './approvals';
import type { FleetSpec } from './fleet';

type RotationOutcome =
  | 'rotated'
  | 'still-valid'
  | 'failed-rolled-back'
  | 'unreachable'
  | 'failed'
  | 'rejected'
  | 'no-listener'
  /** A server onboarding leaves alone (Edge Transport, DC, workgroup): nothing to rotate, not a failure. */
  | 'not-applicable';

export interface ServerRotation {
  outcome: RotationOutcome;
  /** Thumbprint the listener had before this run. */
  from?: string;
  /** Thumbprint the listener has after this run. */
  to?: string;
  notAfter?: string;
  message?: string;
}

export interface RotationRunInput {
  spec: FleetSpec;
  /** Who asked: the person who set up the schedule or started the run; they cannot approve its self-signed changes. */
  requestedBy: string;
  carry?: {
    cursor: number;
    results: Record<string, ServerRotation>;
    run: number;
    decisions: RecordedDecision[];
    refused: RefusedDecision[];
  };
}

export interface RotationReport {
  fleetId: string;
  results: Record<string, ServerRotation>;
  counts: Partial<Record<RotationOutcome, number>>;
  pendingApprovals: PendingApproval[];
  decisions: RecordedDecision[];
  refused: RefusedDecision[];
  run: number;
  done: boolean;
}

interface DriftFinding {
  step: string;
  summary: string;
}

export interface AuditReport {
  fleetId: string;
  /** Servers that differ from the onboarded state, with what differs. */
  drifted: Record<string, DriftFinding[]>;
  compliant: string[];
  notApplicable: string[];
}

export interface AuditRunInput {
  spec: FleetSpec;
  /** Carried across continue-as-new. */
  carry?: { cursor: number; runTag: string; report: AuditReport };
}
