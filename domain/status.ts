/** What the workflows report: per-server status and result, fleet status; and the phase message's schema. */
import type { z } from 'zod';
import { lazySchema } from './lazy-schema';
import type { PendingApproval, RecordedDecision, RefusedDecision, StandingDecision } from './approvals';
import type { FleetSpec, ServerSpec } from './fleet';
import type { OnboardingContext, StepStatus } from './onboarding';
import type { PlannedChange } from './risk';
import type { StepRetry } from './failures';
import type { StepId } from './steps';
import { fqdnSchema } from './validators';
import type { SignaturePolicy } from './signatures';
import type { RequestSignature } from './request-signature';

/**
 * Every phase a server can be in, in the order tables list them: whether its workflow has ended
 * (`final`), and whether it counts against the fleet's failure budget (`failed`).
 */
const PHASES = {
  queued: { final: false, failed: false },
  running: { final: false, failed: false },
  'awaiting-approval': { final: false, failed: false },
  'awaiting-operator': { final: false, failed: true },
  onboarded: { final: true, failed: false },
  'needs-attention': { final: true, failed: false },
  'not-applicable': { final: true, failed: false },
  aborted: { final: true, failed: true },
  failed: { final: true, failed: true },
  'not-started': { final: true, failed: false },
  duplicate: { final: true, failed: false },
} as const satisfies Record<string, { final: boolean; failed: boolean }>;

export type ServerPhase = keyof typeof PHASES;
export const SERVER_PHASES: readonly ServerPhase[] = Object.keys(PHASES) as ServerPhase[];
/** Phases after which a server workflow has ended. */
export const FINAL_PHASES: readonly ServerPhase[] = SERVER_PHASES.filter((p) => PHASES[p].final);
/** Phases that count against the fleet's failure budget. */
export const FAILED_PHASES: readonly ServerPhase[] = SERVER_PHASES.filter((p) => PHASES[p].failed);

/** How much of what a server waits on the fleet keeps (its details list every waiting server). */
export const MAX_WAITING_FOR_CHARS = 300;
/** Phases in which a server waits for a person: the fleet lists them with what they wait on. */
export const WAITING_PHASES: readonly ServerPhase[] = ['awaiting-approval', 'awaiting-operator'];

/**
 * The `serverPhase` signal a server sends its fleet. Anyone who can signal the fleet can send it too,
 * so it is parsed like any message; a final phase in it is only a hint the fleet confirms with Temporal.
 */
export const serverPhaseMessageSchema = lazySchema((z) =>
  z.strictObject({
    fqdn: fqdnSchema,
    phase: z.enum(SERVER_PHASES as [ServerPhase, ...ServerPhase[]]),
    /** What a waiting server waits on (the change texts, or the failed step), shown in the fleet's details. */
    waitingFor: z.string().max(MAX_WAITING_FOR_CHARS).optional(),
  })
);
export type ServerPhaseMessage = z.output<typeof serverPhaseMessageSchema>;

/** Servers a batch reports at most in one `batchProgress` (its slice is smaller: batchSize ≤ 1,500, or maxParallel batches). */
const MAX_REPORTED_SERVERS = 5_000;

/**
 * The `batchProgress` signal a batch sends the fleet now and then: what changed since its last one. For
 * the fleet's status and details only: the batch's result, not this, decides each server's final phase.
 */
export const batchProgressSchema = lazySchema((z) =>
  z.strictObject({
    index: z.number().int().min(0),
    /** Servers whose phase changed since the last report. */
    phases: z.record(fqdnSchema, z.enum(SERVER_PHASES as [ServerPhase, ...ServerPhase[]])),
    started: z.number().int().min(0),
    inFlight: z.array(fqdnSchema).max(MAX_REPORTED_SERVERS),
    waiting: z.record(fqdnSchema, z.string().max(MAX_WAITING_FOR_CHARS)),
    stoppedReason: z.string().max(1_000).optional(),
    refusedCount: z.number().int().min(0),
  })
);
export type BatchProgress = z.output<typeof batchProgressSchema>;

export type StepRecordStatus = StepStatus | 'pending' | 'running' | 'rejected' | 'failed' | 'skipped-by-operator';

export interface StepRecord {
  step: StepId;
  status: StepRecordStatus;
  changed: boolean;
  /** One line for tables and the UI, e.g. "TrustedHosts '' -> '*'" or "already compliant". */
  summary: string;
  before?: unknown;
  after?: unknown;
  change?: PlannedChange;
  decision?: RecordedDecision;
  error?: { type: string; message: string };
}

export interface ServerStatus {
  fleetId: string;
  fqdn: string;
  computerName: string;
  phase: ServerPhase;
  currentStep?: StepId;
  steps: StepRecord[];
  pendingApprovals: PendingApproval[];
  decisions: RecordedDecision[];
  /** The latest refused messages (a few; see KEPT_REFUSALS). */
  refused: RefusedDecision[];
  /** Every message refused so far, kept or not. */
  refusedCount: number;
  awaitingOperator?: { step: StepId; error: { type: string; message: string } };
  /** Why the server needs attention (rejected change, skipped step, not applicable). */
  notes: string[];
}

export interface ServerRunInput {
  fleetId: string;
  server: ServerSpec;
  context: OnboardingContext;
  requestedBy: string;
  approvers: string[];
  approvalTimeoutMs: number;
  /** `maximumIntervalMs` is absent in servers started before it was a setting (then 2 minutes). */
  stepRetry: StepRetry;
  /** Fleet-level decisions already taken when this server starts. */
  standingDecisions: StandingDecision[];
  /** How decisions are checked (signed, with the approvers' keys, or a lab's unsigned); absent before signing. */
  signing?: SignaturePolicy;
  /**
   * What the fleet that started this server expects of it (absent in servers started before: 1). 2: the
   * fleet set the phase `running` in the start's search attributes (no upsert at start); a kind of change
   * the fleet approved is applied by the step's first activity (no second one); and the final phase is
   * signalled only once the fleet has continued as new and said so (`fleetContinued`), because until then
   * the run that started this server gets its result as its child's. No patch markers needed: histories
   * recorded before carry no such field and replay as they were recorded. 3: as 2, and the steps that change
   * AD at a domain controller run beside the server's own steps (domain/steps.ts OVERLAPPED_PLAN).
   */
  fleetProtocol?: 2 | 3;
}

interface FleetCounts {
  total: number;
  started: number;
  byPhase: Partial<Record<ServerPhase, number>>;
}

export interface FleetStatus {
  fleetId: string;
  requestedBy: string;
  /** Whether decisions must be signed; `unsigned` (a lab) is shown wherever the fleet is reported. */
  approvals?: 'signed' | 'unsigned';
  counts: FleetCounts;
  servers: Record<string, ServerPhase>;
  inFlight: string[];
  /** Set when the fleet stopped starting new servers (failure budget, cancellation). */
  stoppedReason?: string;
  /** Servers waiting for an approval or an operator, and what they wait on (absent in older runs). */
  waiting?: Record<string, string>;
  standingDecisions: StandingDecision[];
  /** The latest refused `serverPhase` signals of this run (a few), and how many were refused in all runs. */
  refused: RefusedDecision[];
  refusedCount: number;
  /** Run number within the continue-as-new chain (1 for the first run). */
  run: number;
  done: boolean;
  /** A large fleet's batches (domain/batches.ts), by workflow id; absent when the fleet runs as one. */
  batches?: string[];
  /** Set in a batch's own status: which of the fleet's batches it is. */
  batch?: { index: number; count: number };
}

export interface FleetRunInput {
  spec: FleetSpec;
  requestedBy: string;
  /** The requester's signature over this request (domain/request-signature.ts); a signed fleet needs it. */
  requestSignature?: RequestSignature;
  /**
   * The task queue of the fleet's server workflows (the main one, while the fleet runs on its
   * `fleetTaskQueueFor`). Absent in fleets started before the fleet had a queue of its own: those start
   * their servers on their own queue, as they did.
   */
  serverTaskQueue?: string;
  /** Carried across continue-as-new; absent on the first run. */
  carry?: FleetCarry;
  /**
   * Set when this run is one batch of a larger fleet (domain/batches.ts), started by the fleet's workflow:
   * which of its `count` batches, how many of them run at once, and the servers it may run at first (its
   * share, the spec's maxParallel, once the batch before it in its lane finished).
   */
  batch?: { index: number; count: number; lanes?: number; slots?: number };
}

export interface FleetCarry {
  cursor: number;
  servers: Record<string, ServerPhase>;
  inFlight: string[];
  /** The run id of each server in flight, to ask Temporal about exactly the run this fleet started. */
  runIds?: Record<string, string>;
  /** Workflow time (ms) of the next check on servers started by an earlier run. */
  nextServerCheckAt?: number;
  standingDecisions: StandingDecision[];
  stoppedReason?: string;
  /** What waiting servers wait on (see FleetStatus.waiting). */
  waiting?: Record<string, string>;
  /** Refused messages over the earlier runs (absent in runs from before it was counted). */
  refusedCount?: number;
  /** Inherited servers that said they finished and are still to be confirmed with Temporal. */
  toConfirm?: string[];
  /** Servers the previous run started and had not told that it continued as new: this run tells them. */
  untold?: string[];
  run: number;
}
