/** One-line summaries and Markdown details for the Temporal Web UI. Pure functions. */
import type { StepOutcome } from '../domain/onboarding';
import type { FleetStatus, ServerStatus } from '../domain/status';
import { stepDefinition } from '../domain/steps';

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
    ...status.steps.map((s) => `| ${stepDefinition(s.step).title} | ${s.status} | ${s.summary.replace(/\|/g, '\\|')} |`),
  ];
  if (status.pendingApprovals.length > 0) {
    lines.push('', '**Waiting for approval** (signal `decideChange` with `{"changeId","decision","approver","reason"}`):');
    for (const p of status.pendingApprovals) lines.push(`- \`${p.change.id}\`: ${p.change.text} — ${p.change.reason}`);
  }
  if (status.awaitingOperator) {
    const { step, error } = status.awaitingOperator;
    lines.push('', `**Waiting for an operator** at ${step}: ${error.type}: ${error.message}`);
    lines.push('Signal `resolveStep` with `{"action":"retry|skip|abort","operator","reason"}`.');
  }
  if (status.notes.length > 0) lines.push('', ...status.notes.map((n) => `- ${n}`));
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
    ...(status.stoppedReason ? ['', `**Stopped starting new servers:** ${status.stoppedReason}`] : []),
  ].join('\n');
}
