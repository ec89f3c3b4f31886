/** `fleet report <fleetId>`: what happened on every server, as Markdown or JSON. */
import fs from 'node:fs';
import { stepDefinition } from '../../domain/steps';
import type { FleetStatus, ServerStatus } from '../../domain/status';
import type { CliContext } from '../connect';
import { fleetStatus, serverStatuses } from '../fleet-handles';

function markdownReport(fleet: FleetStatus, servers: ServerStatus[]): string {
  const lines = [
    `# Fleet ${fleet.fleetId}`,
    '',
    `Requested by ${fleet.requestedBy}. ${fleet.counts.started}/${fleet.counts.total} servers started.`,
    '',
  ];
  if (fleet.stoppedReason) lines.push(`**Stopped starting new servers:** ${fleet.stoppedReason}`, '');
  lines.push(
    '| server | phase |',
    '|---|---|',
    ...Object.entries(fleet.servers).map(([fqdn, phase]) => `| ${fqdn} | ${phase} |`),
    ''
  );
  for (const s of servers) {
    lines.push(`## ${s.computerName} (${s.fqdn}): ${s.phase}`, '', '| step | status | summary |', '|---|---|---|');
    for (const r of s.steps)
      lines.push(`| ${stepDefinition(r.step).title} | ${r.status} | ${r.summary.replace(/\|/g, '\\|')} |`);
    if (s.decisions.length > 0) {
      lines.push('', 'Decisions:');
      for (const d of s.decisions)
        lines.push(`- ${d.changeId}: ${d.decision} by ${d.approver} at ${d.at} via ${d.via}: ${d.reason}`);
    }
    if (s.refused.length > 0) {
      lines.push('', 'Refused decisions:');
      for (const r of s.refused) lines.push(`- ${r.at} via ${r.via}: ${r.refusal}`);
    }
    if (s.notes.length > 0) lines.push('', ...s.notes.map((n) => `- ${n}`));
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
