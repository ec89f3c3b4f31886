/**
 * One-line summaries and Markdown details for the Temporal Web UI (2.42). Pure functions.
 *
 * The UI renders Current Details with typographic substitutions (quotes become curly, `4/6` a fraction
 * glyph) and cuts the panel off at a fixed height. So every value (names, change texts, phases, times)
 * goes in a code span, counts read "4 of 6", a list follows a blank line, and each list is capped.
 */
import type { RefusedDecision } from '../domain/approvals';
import type { StepOutcome } from '../domain/onboarding';
import type { RotationReport } from '../domain/rotation';
import { serverWorkflowId } from '../domain/ids';
import type { FleetStatus, ServerStatus } from '../domain/status';
import { stepDefinition } from '../domain/steps';
import { cleanText } from '../domain/validators';

/** Longest value shown in a code span; the `status` query and `fleet report` have the whole text. */
const MAX_VALUE_CHARS = 120;
/** Items shown per list in Current Details, so the panel fits; the rest are counted. */
const MAX_LIST_ITEMS = 5;
/** Refusals shown per server in Current Details (the status keeps the latest 10 and a count). */
const SHOWN_REFUSALS = 3;

/**
 * Text from people or scripts (descriptions, reasons, notes, error messages) as one line of Markdown
 * that renders as the text itself: no line breaks, no links, images, HTML, emphasis or table cells.
 */
export function markdownText(text: string): string {
  return cleanText(text).replace(/[\\`*_{}[\]()<>#!|~]/g, (c) => `\\${c}`);
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

/** `items` as Markdown list lines: a blank line first (else the list runs into the paragraph), capped. */
function list(items: string[], max = MAX_LIST_ITEMS): string[] {
  if (items.length === 0) return [];
  const more = items.length > max ? [`- and ${items.length - max} more`] : [];
  return ['', ...items.slice(0, max).map((item) => `- ${item}`), ...more];
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
  }
}

/** Who sent a refused message, as far as its recorded JSON says (approver or operator). */
export function refusedSender(refused: RefusedDecision): string {
  try {
    const parsed: unknown = JSON.parse(refused.received);
    if (typeof parsed === 'object' && parsed !== null) {
      for (const field of ['approver', 'operator'] as const) {
        const value = (parsed as Record<string, unknown>)[field];
        if (typeof value === 'string' && value.trim() !== '') return value;
      }
    }
  } catch {
    // A cut-off or non-JSON record: the sender is unknown, the text is still shown.
  }
  return 'unknown sender';
}

/** One refused message: when, who, through what, why refused, and what they sent. */
export function describeRefusal(r: RefusedDecision): string {
  return `${code(r.at)} ${code(refusedSender(r), 60)} via ${r.via}: refused, ${code(r.refusal)}; sent ${code(r.received, 100)}`;
}

export function renderServerDetails(status: ServerStatus): string {
  const lines = [
    `Server ${code(status.computerName)} ${code(status.fqdn)} of fleet ${code(status.fleetId)}: phase ${code(status.phase)}`,
  ];
  if (status.pendingApprovals.length > 0) {
    lines.push(
      '',
      `**Waiting for approval** of ${status.pendingApprovals.length === 1 ? 'this change' : `${status.pendingApprovals.length} changes`}. Approve or reject with the Update ${code('decideChange')} (refused at once if a rule is broken): input ${code('{"changeId","decision","approver","reason"}')}.`,
      ...list(
        status.pendingApprovals.map(
          (p) =>
            `${code(p.change.text)}: ${markdownText(p.change.reason)} Id ${code(p.change.id)}, expires ${code(p.expiresAt)}`
        )
      )
    );
  }
  if (status.awaitingOperator) {
    const { step, error } = status.awaitingOperator;
    lines.push(
      '',
      `**Waiting for an operator** at ${code(stepDefinition(step).title)}: ${code(`${error.type}: ${error.message}`)}. Send the Update ${code('resolveStep')} with ${code('{"action":"retry|skip|abort","operator","reason"}')}.`
    );
  }
  const refusedCount = status.refusedCount ?? status.refused.length;
  if (refusedCount > 0) {
    const shown = status.refused.slice(-SHOWN_REFUSALS).reverse();
    lines.push(
      '',
      `**Refused decisions: ${refusedCount}** (never applied; the latest ${shown.length} shown, newest first):`,
      ...list(shown.map(describeRefusal), SHOWN_REFUSALS)
    );
  }
  lines.push(
    '',
    '| step | status | summary |',
    '|---|---|---|',
    ...status.steps.map(
      (s) =>
        `| ${stepDefinition(s.step).title} | ${code(s.status)} | ${s.summary ? code(s.summary, MAX_VALUE_CHARS, true) : ''} |`
    )
  );
  if (status.notes.length > 0) {
    // The latest notes matter most; the `status` query and `fleet report` have them all.
    const notes = status.notes.slice(-MAX_LIST_ITEMS).map((n) => markdownText(n));
    const earlier = status.notes.length - notes.length;
    lines.push(
      '',
      `**Notes**${earlier > 0 ? ` (the latest ${notes.length}; ${earlier} earlier)` : ''}:`,
      ...list(notes)
    );
  }
  return lines.join('\n');
}

/** The server workflow's static details (set when the fleet starts it): what it is and where to look. */
export function renderServerStaticDetails(fleetId: string, fqdn: string, computerName: string): string {
  return [
    `Onboards ${code(computerName)} ${code(fqdn)} for fleet ${code(fleetId)}: each step reads the server, changes only what differs and verifies.`,
    '',
    `Risky changes wait for the Update ${code('decideChange')} from an approver; a step that fails for good waits for the Update ${code('resolveStep')}.`,
  ].join('\n');
}

export function renderFleetDetails(status: FleetStatus, namespace: string): string {
  const lines = [
    `Fleet ${code(status.fleetId)}, started by ${code(status.requestedBy)}: ${status.counts.started} of ${status.counts.total} servers started (run ${status.run})${status.done ? ', done' : ''}`,
    ...list(
      Object.entries(status.counts.byPhase).map(([phase, n]) => `${code(phase)}: ${n}`),
      12
    ),
  ];
  const waiting = Object.entries(status.waiting ?? {});
  if (waiting.length > 0) {
    lines.push(
      '',
      `**Waiting for a person: ${waiting.length}** (open a server to decide):`,
      ...list(
        waiting.map(
          ([fqdn, what]) =>
            `[${code(fqdn)}](${uiWorkflowPath(namespace, serverWorkflowId(fqdn))}) ${code(status.servers[fqdn] ?? 'waiting')}: ${code(what)}`
        )
      )
    );
  }
  if (status.stoppedReason) lines.push('', `**Stopped starting new servers:** ${code(status.stoppedReason)}`);
  if (status.refusedCount > 0) {
    lines.push('', `**Refused messages: ${status.refusedCount}** (forged or malformed ${code('serverPhase')} signals)`);
  }
  return lines.join('\n');
}

/** The rotation run's Current Details: progress, outcomes, waiting approvals and refused decisions. */
export function renderRotationDetails(report: RotationReport, serverCount: number): string {
  const checked = Object.keys(report.results).length;
  const lines = [
    `Certificate rotation of fleet ${code(report.fleetId)}: ${checked} of ${serverCount} servers checked${report.done ? ', done' : ''} (run ${report.run})`,
    ...list(
      Object.entries(report.counts).map(([outcome, n]) => `${code(outcome)}: ${n}`),
      10
    ),
  ];
  if (report.pendingApprovals.length > 0) {
    lines.push(
      '',
      `**Waiting for approval** (Update ${code('decideChange')}):`,
      ...list(report.pendingApprovals.map((p) => `${code(p.change.text)} id ${code(p.change.id)}`))
    );
  }
  if (report.refused.length > 0) {
    lines.push(
      '',
      `**Refused decisions** (never applied; the latest ${Math.min(SHOWN_REFUSALS, report.refused.length)} shown):`,
      ...list(report.refused.slice(-SHOWN_REFUSALS).reverse().map(describeRefusal), SHOWN_REFUSALS)
    );
  }
  return lines.join('\n');
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
