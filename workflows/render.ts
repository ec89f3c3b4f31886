/**
 * One-line summaries and Markdown details for the Temporal Web UI (2.42). Pure functions.
 *
 * How UI 2.42 renders them (see test/support/browser.ts, which checks it in Chromium): Markdown with
 * typographic substitutions outside code spans (quotes become curly, `''` a double quote, `4/6` a
 * fraction glyph, `--` a dash), in a frame sized about 30 px shorter than its content, so the last line
 * is cut off, inside a panel that scrolls below the fold. So every value (names, change texts, phases,
 * times, messages) goes in a code span, counts read "4 of 6", a list follows a blank line, each list is
 * capped, the details end with an empty paragraph that takes the cut, and they are kept short enough
 * to fit a 1600x1200 window. The `status` query and `fleet report` have everything in full.
 */
import type { RefusedDecision } from '../domain/approvals';
import type { FleetSpec } from '../domain/fleet';
import type { StepOutcome } from '../domain/onboarding';
import type { RotationReport, ServerRotation } from '../domain/rotation';
import { serverWorkflowId } from '../domain/ids';
import { WAITING_PHASES, type FleetStatus, type ServerStatus, type StepRecord } from '../domain/status';
import { stepDefinition } from '../domain/steps';
import { UNSIGNED_NOTE } from '../domain/signatures';
import { cleanText } from '../domain/validators';

/** Longest value shown in a code span; the `status` query and `fleet report` have the whole text. */
const MAX_VALUE_CHARS = 120;
/** Longest step summary in the steps table: one line per step keeps the table short. */
const MAX_TABLE_CHARS = 44;
/** Items shown per list in Current Details, so the panel fits; the rest are counted. */
const MAX_LIST_ITEMS = 5;
/** Refusals shown in Current Details (the status keeps the latest 10 and a count). */
const SHOWN_REFUSALS = 3;
/** Pending approvals listed in a rotation run's details. */
const SHOWN_APPROVALS = 3;
/** Notes shown in Current Details: the latest matter most. */
const SHOWN_NOTES = 2;
/**
 * The last paragraph of every details text: a no-break space, so an empty line. UI 2.42 sizes the frame
 * from the body's height without the first and last margins, about 30 px short; the cut falls here.
 */
export const UI_CUT_SPACER = '\u00a0';

/**
 * Text from people or scripts (descriptions, reasons, notes, error messages) as one line of Markdown
 * that renders as the text itself: no line breaks, no links, images, HTML, emphasis or table cells.
 */
export function markdownText(text: string): string {
  return cleanText(text).replace(/[\\`*_{}[\]()<>#!|~]/g, (c) => `\\${c}`);
}

/**
 * Prose for the Web UI: `markdownText`, and the UI's typographic substitutions that change what a text
 * says undone where Markdown allows it (`--`, `...`, and `4/6`, which gets a zero-width word joiner
 * before the slash). Quotes cannot be escaped: values with quotes go in code spans instead.
 */
export function prose(text: string): string {
  return markdownText(text)
    .replace(/-(?=-)|\.(?=\.)/g, (c) => `\\${c}`)
    .replace(/(?<=\d)\/(?=\d)/g, '\u2060/');
}

/**
 * A value as an inline code span: rendered verbatim (no curly quotes, no fraction glyphs, no emphasis),
 * on one line, at most `max` characters. Backticks inside get a longer fence. In a table cell `|` is
 * escaped (GFM reads `\|` there as `|`, and a bare one would end the cell); elsewhere it stays as it is.
 */
export function code(value: string, max = MAX_VALUE_CHARS, inTable = false): string {
  let text = cleanText(value);
  if (text.length > max) text = `${text.slice(0, max - 3)}...`;
  if (text === '') return '`-`';
  if (inTable) text = text.replace(/\|/g, '\\|');
  const longestRun = Math.max(0, ...(text.match(/`+/g) ?? []).map((run) => run.length));
  const fence = '`'.repeat(longestRun + 1);
  const pad = text.startsWith('`') || text.endsWith('`') ? ' ' : '';
  return `${fence}${pad}${text}${pad}${fence}`;
}

/** The Web UI's page of a workflow, relative to the UI (Current Details are shown on the UI's own origin). */
export function uiWorkflowPath(namespace: string, workflowId: string): string {
  return `/namespaces/${encodeURIComponent(namespace)}/workflows/${encodeURIComponent(workflowId)}`;
}

/** The Web UI's workflow list filtered by a visibility query (parentheses encoded too: it is a Markdown link). */
export function uiWorkflowListPath(namespace: string, query: string): string {
  const encoded = encodeURIComponent(query).replace(/\(/g, '%28').replace(/\)/g, '%29');
  return `/namespaces/${encodeURIComponent(namespace)}/workflows?query=${encoded}`;
}

/** The visibility query for a fleet's servers that wait for a person (approval or operator). */
export function waitingServersQuery(fleetId: string): string {
  const phases = WAITING_PHASES.map((p) => `"${p}"`).join(', ');
  return `MonosyncFleet = "${fleetId}" AND MonosyncPhase IN (${phases}) AND ExecutionStatus = "Running"`;
}

/** An ISO time to the minute, as a code span: `2026-12-05 07:00Z`. */
function time(iso: string): string {
  const match = /^(\d{4}-\d\d-\d\d)T(\d\d:\d\d)/.exec(iso);
  return code(match ? `${match[1]} ${match[2]}Z` : iso);
}

/** `items` as Markdown list lines, capped, with the rest counted. */
function list(items: string[], max = MAX_LIST_ITEMS): string {
  const more = items.length > max ? [`- and ${items.length - max} more`] : [];
  return [...items.slice(0, max).map((item) => `- ${item}`), ...more].join('\n');
}

/**
 * Blocks (paragraphs, lists, tables) as one Markdown text: a blank line between blocks (else a list
 * runs into the paragraph before it), and the spacer last.
 */
function details(blocks: Array<string | false | undefined>): string {
  return [...blocks.filter((b): b is string => typeof b === 'string' && b !== ''), UI_CUT_SPACER].join('\n\n');
}

/** `` `a`: 2, `b`: 1 `` for counts by phase or outcome, on one line. */
function counts(byKey: Partial<Record<string, number>>): string {
  return Object.entries(byKey)
    .map(([key, n]) => `${code(key)} ${n ?? 0}`)
    .join(', ');
}

export function describeOutcome(outcome: StepOutcome): string {
  if (outcome.change && outcome.changed) return `${outcome.change.text} (approved)`;
  switch (outcome.status) {
    case 'compliant':
      return 'already compliant';
    case 'would-change':
      return 'would change';
    case 'changed':
      return 'changed and verified';
    case 'approval-required':
      return `waiting for approval: ${outcome.change?.text ?? ''}`;
    case 'skipped':
      return 'skipped';
    case 'not-applicable':
      return `not applicable: ${outcome.notApplicable ?? ''}`;
  }
}

/** The refused message's JSON as an object, or undefined when it is cut off or not JSON. */
function receivedFields(refused: RefusedDecision): Record<string, unknown> | undefined {
  try {
    const parsed: unknown = JSON.parse(refused.received);
    return typeof parsed === 'object' && parsed !== null ? (parsed as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** Who sent a refused message, as far as its recorded JSON says (approver or operator). */
export function refusedSender(refused: RefusedDecision): string {
  const fields = receivedFields(refused);
  for (const field of ['approver', 'operator'] as const) {
    const value = fields?.[field];
    if (typeof value === 'string' && value.trim() !== '') return value;
  }
  // A cut-off or non-JSON record: the sender is unknown, the text is still shown.
  return 'unknown sender';
}

/**
 * What a refused message asked for (`approve <changeId>`, `retry`, `approve <kind>`), else the start of
 * what it held. On a server's page its own FQDN is left out of change ids (`<fqdn>/<step>/<kind>`).
 */
function refusedRequest(refused: RefusedDecision, ownFqdn?: string): string {
  const fields = receivedFields(refused);
  const words = ['action', 'decision', 'changeId', 'kind']
    .map((field) => fields?.[field])
    .filter((v): v is string => typeof v === 'string')
    .map((v) => (ownFqdn && v.startsWith(`${ownFqdn}/`) ? v.slice(ownFqdn.length + 1) : v));
  return words.length > 0 ? words.join(' ') : refused.received;
}

/** One refused message: when, who, through what, what it asked, and why it was refused. */
export function describeRefusal(r: RefusedDecision, ownFqdn?: string): string {
  return `${time(r.at)} ${code(refusedSender(r), 40)} by ${r.via}: ${code(refusedRequest(r, ownFqdn), 90)} refused, ${code(r.refusal)}`;
}

/** The refused messages block: how many, and the latest few, newest first. */
function refusalsBlock(refused: RefusedDecision[], total: number, ownFqdn?: string): string | undefined {
  if (total === 0) return undefined;
  const shown = refused.slice(-SHOWN_REFUSALS).reverse();
  return `**Refused decisions: ${total}** (never applied; the latest ${shown.length}, newest first):\n\n${list(
    shown.map((r) => describeRefusal(r, ownFqdn)),
    SHOWN_REFUSALS
  )}`;
}

/** The input of the Update `decideChange` for a change, ready to paste in the UI's dialog. */
function decideChangeInput(changeId: string): string {
  return code(
    `{"changeId": "${changeId}", "decision": "approve", "approver": "<approver>", "reason": "<reason>"}`,
    200
  );
}

/** A step's row: its id (the activity type in the event history), status and summary, on one line. */
function stepRow(s: StepRecord): string {
  return `| ${code(s.step)} | ${code(s.status)} | ${s.summary ? code(s.summary, MAX_TABLE_CHARS, true) : ''} |`;
}

const DONE_STEP = (s: StepRecord): boolean => !['pending', 'running', 'approval-required'].includes(s.status);

export function renderServerDetails(status: ServerStatus): string {
  const done = status.steps.filter(DONE_STEP).length;
  const blocks: Array<string | undefined> = [
    `Server ${code(status.computerName)} ${code(status.fqdn)} of fleet ${code(status.fleetId)}: phase ${code(status.phase)}, ${done} of ${status.steps.length} steps done`,
  ];
  const [first, ...others] = status.pendingApprovals;
  if (first) {
    blocks.push(
      `**Waiting for approval** of ${code(first.change.text)} (rejected if undecided by ${time(first.expiresAt)}). Why it is risky: ${prose(first.change.reason)}`,
      `Approve or reject with the Update ${code('decideChange')} (it says at once if a rule refuses you), input ${decideChangeInput(first.change.id)}`,
      others.length > 0 ? `Also waiting: ${others.map((p) => code(p.change.text)).join(', ')}` : undefined
    );
  }
  if (status.awaitingOperator) {
    const { step, error } = status.awaitingOperator;
    blocks.push(
      `**Waiting for an operator** at ${stepDefinition(step).title}: ${code(`${error.type}: ${error.message}`)}; send the Update ${code('resolveStep')} with ${code('{"action": "retry|skip|abort", "operator": "<operator>", "reason": "<reason>"}')}`
    );
  }
  blocks.push(refusalsBlock(status.refused, status.refusedCount ?? status.refused.length, status.fqdn));
  blocks.push(['| step | status | summary |', '|---|---|---|', ...status.steps.map(stepRow)].join('\n'));
  if (status.notes.length > 0) {
    const notes = status.notes.slice(-SHOWN_NOTES);
    const earlier = status.notes.length - notes.length;
    blocks.push(
      `**Notes**${earlier > 0 ? ` (the latest ${notes.length}; ${earlier} earlier)` : ''}:`,
      list(
        notes.map((n) => code(n, 160)),
        SHOWN_NOTES
      )
    );
  }
  return details(blocks);
}

/** The server workflow's static details (set when the fleet starts it): what it is and how to steer it. */
export function renderServerStaticDetails(fleetId: string, fqdn: string, computerName: string): string {
  return details([
    `Onboards ${code(computerName)} ${code(fqdn)} for fleet ${code(fleetId)}: each step reads the server, changes only what differs and verifies. A risky change waits for the Update ${code('decideChange')} from an approver, a step that fails for good for the Update ${code('resolveStep')}.`,
  ]);
}

/** What the fleet file's policy asks for, in one line of values. */
function policyText(spec: FleetSpec): string {
  const p = spec.policy;
  const trustedHosts =
    p.trustedHosts.applyOn === 'skip'
      ? code('untouched')
      : `${code(Array.isArray(p.trustedHosts.value) ? p.trustedHosts.value.join(', ') : p.trustedHosts.value)} on ${code(p.trustedHosts.applyOn)}`;
  return [
    `delegation ${code(p.delegation)}`,
    `CbtHardeningLevel ${code(p.cbtHardeningLevel)}`,
    `TrustedHosts ${trustedHosts}`,
    `firewall from ${code(p.firewall.sources)} on ${code(p.firewall.profiles.join(', '))}`,
    `self-signed certificates ${code(p.certificate.allowSelfSigned ? 'allowed' : 'refused')}`,
  ].join(', ');
}

/** The fleet workflow's summary in the Web UI (one line; the workflow list shows it too). */
export function fleetStaticSummary(spec: FleetSpec): string {
  return `Onboard fleet ${spec.fleetId}: ${spec.servers.length} Exchange servers`;
}

/** The fleet workflow's static details (set when it starts): who asked, what it does, under which rules. */
export function renderFleetStaticDetails(spec: FleetSpec, requestedBy: string): string {
  const signed = spec.approvals === 'signed';
  return details([
    `Onboards ${spec.servers.length} servers, at most ${spec.settings.maxParallel} at once; requested by ${code(requestedBy)}${signed ? ' (signed request)' : ''}. Approvers ${spec.approvers.map((a) => code(a)).join(', ')}${signed ? ', signed decisions' : `; ${UNSIGNED_NOTE}`}. Policy: ${policyText(spec)}.`,
    spec.description ? prose(spec.description) : undefined,
  ]);
}

/** What a waiting server waits on (`approval of <change>`, `an operator at <step>: <error>`), values in code. */
function waitingText(what: string): string {
  const match = /^(approval of|an operator at) (.*)$/.exec(what);
  return match ? `${match[1]} ${code(match[2])}` : code(what);
}

export function renderFleetDetails(status: FleetStatus, namespace: string): string {
  const which = status.batch ? ` batch ${status.batch.index + 1} of ${status.batch.count}` : '';
  const blocks: Array<string | undefined> = [
    `Fleet ${code(status.fleetId)}${which} (run ${status.run}), requested by ${code(status.requestedBy)}: ${status.counts.started} of ${status.counts.total} servers started${status.done ? ', done' : ''}. By phase: ${counts(status.counts.byPhase)}`,
  ];
  if (status.batches?.length) {
    blocks.push(
      `Runs as ${status.batches.length} batches side by side (their reports, a few seconds old, make these counts): ${status.batches.map((id, i) => `[batch ${i + 1}](${uiWorkflowPath(namespace, id)})`).join(', ')}`
    );
  }
  const waiting = Object.entries(status.waiting ?? {});
  if (waiting.length > 0) {
    const all = uiWorkflowListPath(namespace, waitingServersQuery(status.fleetId));
    blocks.push(
      `**Waiting for a person: ${waiting.length}** (open a server to decide; [all of them](${all})):`,
      list(
        waiting.map(
          ([fqdn, what]) => `[${code(fqdn)}](${uiWorkflowPath(namespace, serverWorkflowId(fqdn))}) ${waitingText(what)}`
        )
      )
    );
  }
  if (status.approvals !== 'signed') blocks.push(`**${UNSIGNED_NOTE}**`);
  if (status.stoppedReason) blocks.push(`**Stopped starting new servers:** ${code(status.stoppedReason)}`);
  if (status.refusedCount > 0) {
    blocks.push(
      `**Refused messages: ${status.refusedCount}** (forged or malformed internal signals: ${code('serverPhase')}, ${code('batchProgress')}, ${code('fleetDecisions')})`
    );
  }
  return details(blocks);
}

/** Rotation results listed first: those that need a person, then the changes; still-valid ones are only counted. */
const ROTATION_ORDER: ReadonlyArray<ServerRotation['outcome']> = [
  'failed',
  'failed-rolled-back',
  'unreachable',
  'rejected',
  'no-listener',
  'not-applicable',
  'rotated',
];
/** Results listed in a rotation run's details. */
const SHOWN_RESULTS = 4;

/** The start of a thumbprint: enough to tell certificates apart at a glance (the report has them whole). */
function thumbprint(value: string | undefined): string {
  return value ? `${value.slice(0, 8)}...` : '-';
}

/** One server's rotation result: the outcome and what changed or why. */
function rotationResult(fqdn: string, r: ServerRotation): string {
  const what = r.message ?? (r.to && r.to !== r.from ? `${thumbprint(r.from)} -> ${thumbprint(r.to)}` : undefined);
  return `${code(fqdn)} ${code(r.outcome)}${what ? `: ${code(what, 100)}` : ''}${r.notAfter ? `, valid until ${time(r.notAfter)}` : ''}`;
}

/** The rotation run's Current Details: progress, outcomes, the servers that need a look, approvals, refusals. */
export function renderRotationDetails(report: RotationReport, serverCount: number): string {
  const checked = Object.keys(report.results).length;
  // Still-valid servers are the quiet majority; the others are listed.
  const notable = Object.entries(report.results)
    .filter(([, r]) => ROTATION_ORDER.includes(r.outcome))
    .sort(([, a], [, b]) => ROTATION_ORDER.indexOf(a.outcome) - ROTATION_ORDER.indexOf(b.outcome));
  const blocks: Array<string | undefined> = [
    `Certificate rotation of fleet ${code(report.fleetId)} (run ${report.run}): ${checked} of ${serverCount} servers checked${report.done ? ', done' : ''}. By outcome: ${counts(report.counts)}`,
    notable.length > 0
      ? list(
          notable.map(([fqdn, r]) => rotationResult(fqdn, r)),
          SHOWN_RESULTS
        )
      : undefined,
  ];
  const pending = report.pendingApprovals;
  if (pending.length > 0) {
    const firstExpiry = pending.map((p) => p.expiresAt).sort()[0];
    blocks.push(
      `**Waiting for approval: ${pending.length}** (rejected if undecided by ${time(firstExpiry)}). Decide each with the Update ${code('decideChange')}, input ${decideChangeInput(pending.length === 1 ? pending[0].change.id : '<id>')}`,
      list(
        pending.map((p) => `${code(p.change.text)}: id ${code(p.change.id)}`),
        SHOWN_APPROVALS
      )
    );
  }
  blocks.push(refusalsBlock(report.refused, report.refused.length));
  return details(blocks);
}

/** `field 'a' -> 'b'` for the top-level fields that differ between two states. */
export function summarizeChange(before: unknown, after: unknown): string {
  if (typeof before !== 'object' || typeof after !== 'object' || before === null || after === null) {
    return `${JSON.stringify(before)} -> ${JSON.stringify(after)}`;
  }
  const b = before as Record<string, unknown>;
  const a = after as Record<string, unknown>;
  const short = (v: unknown): string => {
    const text = typeof v === 'string' ? `'${v}'` : JSON.stringify(v);
    return text.length > 80 ? `${text.slice(0, 77)}...` : text;
  };
  const diffs = Object.keys(a)
    .filter((k) => JSON.stringify(a[k]) !== JSON.stringify(b[k]))
    .map((k) => `${k} ${short(b[k])} -> ${short(a[k])}`);
  return diffs.length > 0 ? diffs.join('; ') : 'would change';
}
