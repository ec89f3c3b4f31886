/** One-line summaries and Markdown details for the Temporal Web UI. Pure functions. */
import type { StepOutcome } from '../domain/onboarding';
import type { FleetStatus, ServerStatus } from '../domain/status';
import { stepDefinition } from '../domain/steps';
import { cleanText } from '../domain/validators';

/**
 * Text from people or scripts (descriptions, reasons, notes, error messages) as one line of Markdown
 * that renders as the text itself: no line breaks, no links, images, HTML, emphasis or table cells.
 */
export function markdownText(text: string): string {
  return cleanText(text).replace(/[\\`*_{}[\]()<>#!|~]/g, (c) => `\\${c}`);
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

export function renderServerDetails(status: ServerStatus): string {
  const lines = [
    `**${status.computerName}** (${status.fqdn}) — fleet \`${status.fleetId}\` — **${status.phase}**`,
    '',
    '| step | status | summary |',
    '|---|---|---|',
    ...status.steps.map((s) => `| ${stepDefinition(s.step).title} | ${s.status} | ${markdownText(s.summary)} |`),
  ];
  if (status.pendingApprovals.length > 0) {
    lines.push(
      '',
      '**Waiting for approval** (signal `decideChange` with `{"changeId","decision","approver","reason"}`):'
    );
    for (const p of status.pendingApprovals) {
      lines.push(`- \`${p.change.id}\`: ${markdownText(p.change.text)} — ${markdownText(p.change.reason)}`);
    }
  }
  if (status.awaitingOperator) {
    const { step, error } = status.awaitingOperator;
    lines.push('', `**Waiting for an operator** at ${step}: ${markdownText(`${error.type}: ${error.message}`)}`);
    lines.push('Signal `resolveStep` with `{"action":"retry|skip|abort","operator","reason"}`.');
  }
  if (status.notes.length > 0) lines.push('', ...status.notes.map((n) => `- ${markdownText(n)}`));
  return lines.join('\n');
}

export function renderFleetDetails(status: FleetStatus): string {
  const phases = Object.entries(status.counts.byPhase)
    .map(([phase, n]) => `${phase}: ${n}`)
    .join(', ');
  return [
    `Fleet \`${status.fleetId}\`, started by ${status.requestedBy}: ${status.counts.started}/${status.counts.total} started`,
    '',
    phases,
    ...(status.stoppedReason ? ['', `**Stopped starting new servers:** ${markdownText(status.stoppedReason)}`] : []),
  ].join('\n');
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
