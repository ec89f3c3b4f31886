/** `fleet report <fleetId>`: what happened on every server, as Markdown or JSON. */
import fs from 'node:fs';
import { stepDefinition } from '../../domain/steps';
import type { FleetStatus, ServerStatus } from '../../domain/status';
import type { CliContext } from '../connect';
import { fleetStatus, serverStatuses } from '../fleet-handles';
import { UNSIGNED_NOTE } from '../views';
import { markdownText, refusedSender } from '../../workflows/render';

function markdownReport(fleet: FleetStatus, servers: ServerStatus[]): string {
  const lines = [
    `# Fleet ${fleet.fleetId}`,
    '',
    `Requested by ${fleet.requestedBy}. ${fleet.counts.started} of ${fleet.counts.total} servers started.`,
    '',
  ];
  if (fleet.approvals !== 'signed') lines.push(`**${UNSIGNED_NOTE}**`, '');
  if (fleet.stoppedReason) lines.push(`**Stopped starting new servers:** ${markdownText(fleet.stoppedReason)}`, '');
  const waiting = Object.entries(fleet.waiting ?? {});
  if (waiting.length > 0) {
    lines.push(
      '**Waiting for a person:**',
      '',
      ...waiting.map(([fqdn, what]) => `- ${fqdn}: ${markdownText(what)}`),
      ''
    );
  }
  if (fleet.refusedCount > 0) lines.push(`Refused \`serverPhase\` messages to the fleet: ${fleet.refusedCount}`, '');
  lines.push(
    '| server | phase |',
    '|---|---|',
    ...Object.entries(fleet.servers).map(([fqdn, phase]) => `| ${fqdn} | ${phase} |`),
    ''
  );
  for (const s of servers) {
    lines.push(`## ${s.computerName} (${s.fqdn}): ${s.phase}`, '', '| step | status | summary |', '|---|---|---|');
    for (const r of s.steps)
      lines.push(`| ${stepDefinition(r.step).title} | ${r.status} | ${markdownText(r.summary)} |`);
    if (s.decisions.length > 0) {
      lines.push('', 'Decisions:', '');
      for (const d of s.decisions)
        lines.push(
          `- ${d.changeId}: ${d.decision} by ${d.approver} at ${d.at} via ${d.via}: ${markdownText(d.reason)}`
        );
    }
    // Results from before refusals were counted carry no count: the list was all of them then.
    const refusedCount = s.refusedCount ?? s.refused.length;
    if (refusedCount > 0) {
      const latest = refusedCount > s.refused.length ? ` (the latest ${s.refused.length} shown)` : '';
      lines.push('', `Refused decisions and messages (never applied): ${refusedCount}${latest}`, '');
      // Who sent what, why it was refused, and when: an auditor's question about a forged approval.
      for (const r of s.refused) {
        lines.push(
          `- ${r.at} via ${r.via} from ${markdownText(refusedSender(r))}: refused, ${markdownText(r.refusal)}; sent ${markdownText(r.received)}`
        );
      }
    }
    if (s.notes.length > 0) lines.push('', 'Notes:', '', ...s.notes.map((n) => `- ${markdownText(n)}`));
    lines.push('');
  }
  return lines.join('\n');
}

export async function reportCommand(
  ctx: CliContext,
  fleetId: string,
  opts: { format: 'markdown' | 'json'; out?: string }
): Promise<number> {
  const fleet = await fleetStatus(ctx.client, fleetId);
  const servers = await serverStatuses(ctx.client, fleet);
  const text = opts.format === 'json' ? JSON.stringify({ fleet, servers }, null, 2) : markdownReport(fleet, servers);
  if (opts.out) {
    fs.writeFileSync(opts.out, text);
    console.log(`wrote ${opts.out}`);
  } else console.log(text);
  return 0;
}
