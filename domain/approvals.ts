/**
 * Approval and operator messages, and the four-eyes rules that every path (Workflow Update validator,
 * signal from the Web UI, fleet-level decision) checks the same way.
 */
import type { z } from 'zod';
import { lazySchema } from './lazy-schema';
import { formatIssues } from './issues';
import type { PlannedChange } from './risk';
import { RISK_KINDS, type RiskKind } from './steps';
import { signatureSchema, type DecisionSignature, type SignaturePolicy } from './signatures';
import { fqdnSchema, normalisePerson, personSchema, reasonSchema } from './validators';

export const decisionInputSchema = lazySchema((z) =>
  z.strictObject({
    changeId: z.string().min(3).max(400),
    decision: z.enum(['approve', 'reject']),
    approver: personSchema,
    reason: reasonSchema,
    /** Required when the fleet's approvals are signed (the default): see domain/signatures.ts. */
    signature: signatureSchema.optional(),
  })
);
export type DecisionInput = z.output<typeof decisionInputSchema>;

export const kindDecisionInputSchema = lazySchema((z) =>
  z.strictObject({
    kind: z.enum(RISK_KINDS),
    /** `all`, or the FQDNs the decision covers. */
    servers: z.union([z.literal('all'), z.array(fqdnSchema).min(1)]),
    decision: z.enum(['approve', 'reject']),
    approver: personSchema,
    reason: reasonSchema,
    signature: signatureSchema.optional(),
  })
);
export type KindDecisionInput = z.output<typeof kindDecisionInputSchema>;

/** A fleet-level decision as the fleet relays it to its servers (with the time it was taken). */
export const standingDecisionSchema = lazySchema((z) =>
  kindDecisionInputSchema.extend({ at: z.string().min(10).max(40) })
);

export const operatorDecisionInputSchema = lazySchema((z) =>
  z.strictObject({
    action: z.enum(['retry', 'skip', 'abort']),
    operator: personSchema,
    reason: reasonSchema,
    signature: signatureSchema.optional(),
  })
);
export type OperatorDecisionInput = z.output<typeof operatorDecisionInputSchema>;

export type DecisionVia = 'update' | 'signal' | 'fleet' | 'timeout';

/** How a refused message arrived: as a decision (above), or as one of the fleet's internal signals. */
export type RefusedVia = DecisionVia | 'serverPhase' | 'batchProgress' | 'batchSlots';

export interface RecordedDecision {
  changeId: string;
  decision: 'approve' | 'reject';
  approver: string;
  reason: string;
  /** ISO time from the workflow clock (deterministic). */
  at: string;
  via: DecisionVia;
  /** The approver's signature, when the fleet's approvals are signed (its nonce is never taken twice). */
  signature?: DecisionSignature;
}

export interface RefusedDecision {
  /** What arrived, as far as it could be read. */
  received: string;
  refusal: string;
  at: string;
  via: RefusedVia;
}

export interface PendingApproval {
  change: PlannedChange;
  requestedAt: string;
  /** When the request counts as rejected. */
  expiresAt: string;
}

export interface StandingDecision extends KindDecisionInput {
  at: string;
}

/** The rules' people in the form decisions are compared in (trimmed, lower case). */
export function normaliseRules(rules: ApprovalRules): ApprovalRules {
  // Without the schema: workflows call this at start, and a schema would load zod for it (lazy-schema.ts).
  return { ...rules, approvers: rules.approvers.map(normalisePerson), requestedBy: normalisePerson(rules.requestedBy) };
}

export interface ApprovalRules {
  approvers: readonly string[];
  requestedBy: string;
  /** Signed approvals (keys per approver) or `unsigned` (a lab); absent in histories older than signing. */
  signing?: SignaturePolicy;
}

/** What a workflow uses when its input predates signed approvals (recorded histories replay with it). */
export function signingOf(rules: ApprovalRules, fleetId: string): SignaturePolicy {
  return rules.signing ?? { approvals: 'unsigned', fleetId, keys: {} };
}

/**
 * Parses a message with `schema`; returns the value or a readable refusal naming each field under the
 * message's own name (`decideChange.reason: ...`, `serverPhase: expected object`), never a file's.
 */
export function parseMessage<T>(
  schema: z.ZodType<T>,
  raw: unknown,
  message: string
): { ok: true; value: T } | { ok: false; refusal: string } {
  const parsed = schema.safeParse(raw);
  if (parsed.success) return { ok: true, value: parsed.data };
  const issues = parsed.error.issues.map((issue) => ({ ...issue, path: [message, ...issue.path] }));
  return { ok: false, refusal: `malformed message: ${formatIssues(issues).join('; ')}` };
}

/**
 * Refused messages a workflow keeps in its status: the latest few, and a count of all. Anyone who can
 * signal a workflow can send thousands; the status, the result and the history must stay small.
 */
export const KEPT_REFUSALS = 10;
/** How much of a refused message is kept (as JSON), enough to see who sent what. */
export const KEPT_RECEIVED_CHARS = 300;

/** Appends a refusal to `refused`, keeping only the latest KEPT_REFUSALS; returns the new count. */
export function keepRefusal(refused: RefusedDecision[], entry: RefusedDecision, count: number): number {
  refused.push({ ...entry, received: entry.received.slice(0, KEPT_RECEIVED_CHARS) });
  if (refused.length > KEPT_REFUSALS) refused.splice(0, refused.length - KEPT_REFUSALS);
  return count + 1;
}

/** What `JSON.stringify` makes of anything a message may carry (undefined, cycles, BigInt included). */
export function describeReceived(received: unknown): string {
  try {
    return JSON.stringify(received)?.slice(0, KEPT_RECEIVED_CHARS) ?? 'undefined';
  } catch {
    return String(typeof received);
  }
}

/** The four-eyes rules for a person deciding: on the list, and not the requester. */
export function approverRefusal(approver: string, rules: ApprovalRules): string | null {
  if (!rules.approvers.includes(approver)) {
    return `${approver} is not an approver of this fleet (approvers: ${rules.approvers.join(', ')})`;
  }
  if (approver === rules.requestedBy) {
    return `${approver} started this run and cannot approve its changes: another approver must decide (four eyes)`;
  }
  return null;
}

/**
 * Why no decision on this change can be recorded (already decided, or not pending), or null. The part
 * of `decisionRefusal` that needs no approval rules, so a client can check it against a server's status.
 */
export function changeRefusal(
  changeId: string,
  pending: ReadonlySet<string>,
  decided: ReadonlySet<string>
): string | null {
  if (decided.has(changeId)) return `change ${changeId} has already been decided`;
  if (!pending.has(changeId)) return `no pending change ${changeId} on this server`;
  return null;
}

/** Why a decision on one change is refused, or null when it may be recorded. */
export function decisionRefusal(
  input: DecisionInput,
  rules: ApprovalRules,
  pending: ReadonlySet<string>,
  decided: ReadonlySet<string>
): string | null {
  return changeRefusal(input.changeId, pending, decided) ?? approverRefusal(input.approver, rules);
}

export function kindDecisionCovers(d: KindDecisionInput, kind: RiskKind, fqdn: string): boolean {
  return d.kind === kind && (d.servers === 'all' || d.servers.includes(fqdn));
}

/**
 * The part of a fleet decision one server needs: undefined when it does not cover the server, and
 * otherwise the decision with its server list cut down to that server (a list can hold thousands).
 */
export function decisionForServer(d: StandingDecision, fqdn: string): StandingDecision | undefined {
  if (d.servers === 'all') return d;
  if (!d.servers.includes(fqdn)) return undefined;
  // A signed decision keeps its whole list: the server verifies the signature over exactly what was signed.
  return d.signature ? d : { ...d, servers: [fqdn] };
}

/**
 * The fleet carries its decisions across continue-as-new next to its server list; this keeps the two
 * together under Temporal's 2 MB payload limit (see MAX_SERVER_LIST_BYTES).
 */
export const MAX_STANDING_DECISIONS_BYTES = 200_000;

/** Why a fleet cannot take on these decisions (with a new one last), or undefined when it can. */
export function standingDecisionsRefusal(decisions: KindDecisionInput[]): string | undefined {
  const bytes = JSON.stringify(decisions).length;
  return bytes > MAX_STANDING_DECISIONS_BYTES
    ? `this fleet's decisions would take ${Math.ceil(bytes / 1000)} kB, more than the ${MAX_STANDING_DECISIONS_BYTES / 1000} kB it can carry: decide for all servers at once, or approve single changes by id`
    : undefined;
}
