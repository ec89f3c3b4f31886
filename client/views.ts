/** How the CLI prints statuses, approvals and plans. */
import Table from 'cli-table3';
import type { PendingApproval } from '../domain/approvals';
import type { FleetPlan } from '../domain/plan';
import type { FleetStatus, ServerStatus, StepRecordStatus } from '../domain/status';
import { UNSIGNED_NOTE } from '../domain/signatures';
import { STEPS, stepDefinition } from '../domain/steps';

const STEP_MARK: Record<StepRecordStatus | 'failed', string> = {
  pending: '·',
  running: '…',
  compliant: 'ok',
  changed: 'changed',
  'would-change': 'would change',
  'approval-required': 'approval?',
  skipped: 'skip',
  'not-applicable': 'n/a',
  rejected: 'rejected',
  failed: 'FAILED',
  'skipped-by-operator': 'skipped',
};

/** Said wherever a fleet without signed approvals is reported (one text, kept in domain/signatures.ts). */
export { UNSIGNED_NOTE };

export function fleetSummary(status: FleetStatus): string {
  const phases = Object.entries(status.counts.byPhase)
    .map(([phase, n]) => `${phase} ${n}`)
    .join(', ');
  const lines = [
    `fleet ${status.fleetId} (started by ${status.requestedBy}, run ${status.run}): ${status.counts.started}/${status.counts.total} started${status.done ? ', done' : ''}`,
    `  ${phases}`,
  ];
  if (status.approvals !== 'signed') lines.push(`  ${UNSIGNED_NOTE}`);
  if (status.stoppedReason) lines.push(`  stopped starting new servers: ${status.stoppedReason}`);
  for (const [fqdn, what] of Object.entries(status.waiting ?? {})) lines.push(`  waiting: ${fqdn}: ${what}`);
  return lines.join('\n');
}

export function statusTable(fleet: FleetStatus, servers: ServerStatus[]): string {
  const table = new Table({
    head: ['server', 'phase', ...STEPS.map((s) => s.short)],
    style: { head: [], border: [] },
  });
  const byFqdn = new Map(servers.map((s) => [s.fqdn, s]));
  for (const [fqdn, phase] of Object.entries(fleet.servers)) {
    const s = byFqdn.get(fqdn);
    // The server's own phase is fresher: the fleet hears only of phases that matter to it.
    table.push([
      fqdn,
      s?.phase ?? phase,
      ...STEPS.map((def) => (s ? STEP_MARK[s.steps.find((r) => r.step === def.id)?.status ?? 'pending'] : '')),
    ]);
  }
  return table.toString();
}

export function approvalLines(pending: PendingApproval[], fleetId: string, approverHint: string): string[] {
  return pending.flatMap((p) => [
    `${p.change.id}`,
    `    ${p.change.text}`,
    `    why risky: ${p.change.reason}`,
    `    safer:     ${p.change.saferAlternative}`,
    `    expires:   ${p.expiresAt}`,
    `    approve:   npm run fleet -- approve ${fleetId} ${p.change.id} --as ${approverHint} --reason "..."`,
  ]);
}

export function planTable(plan: FleetPlan): string {
  const lines: string[] = [];
  for (const server of plan.servers) {
    lines.push(`${server.fqdn}${server.note ? `: ${server.note}` : ''}`);
    for (const step of server.steps) {
      if (step.status === 'compliant' || step.status === 'skipped') continue;
      const approval = step.change ? `  [needs approval: ${step.change.text}]` : '';
      lines.push(
        `  ${stepDefinition(step.step).short.padEnd(10)} ${STEP_MARK[step.status]}: ${step.summary}${approval}`
      );
    }
  }
  const approvals = plan.servers.flatMap((s) => s.steps.filter((st) => st.change)).length;
  const changes = plan.servers.flatMap((s) => s.steps.filter((st) => st.status === 'would-change')).length;
  lines.push(
    '',
    `${changes} changes on ${plan.servers.length} servers; ${approvals} need approval. Nothing was changed.`
  );
  return lines.join('\n');
}
