/** `fleet approvals`, `fleet approve`, `fleet reject`: pending risky changes and decisions on them. */
import {
  changeRefusal,
  decisionInputSchema,
  kindDecisionInputSchema,
  type DecisionInput,
} from '../../domain/approvals';
import { fleetWorkflowId, serverWorkflowId } from '../../domain/ids';
import { formatIssues } from '../../domain/issues';
import { parseChangeId } from '../../domain/risk';
import { decideChangeUpdate, decideKindUpdate } from '../../workflows/messages';
import { CliError } from '../cli-error';
import type { CliContext } from '../connect';
import { fleetStatus, serverStatus, serversWaiting, serverStatuses } from '../fleet-handles';
import { approvalLines } from '../views';
import { signerFrom, signFieldsWith, type KeyOptions } from '../signing-keys';
import { signedChangeDecision } from './sign-decision';

export async function approvalsCommand(ctx: CliContext, fleetId: string, opts: { json: boolean }): Promise<number> {
  const fleet = await fleetStatus(ctx.client, fleetId);
  const waiting = new Set(await serversWaiting(ctx.client, fleetId));
  const servers = await serverStatuses(ctx.client, fleet, (fqdn) => waiting.has(fqdn));
  const pending = servers.flatMap((s) => s.pendingApprovals);
  if (opts.json) {
    console.log(JSON.stringify(pending, null, 2));
    return 0;
  }
  if (pending.length === 0) {
    console.log(`no pending approvals in fleet ${fleetId}`);
    return 0;
  }
  console.log(approvalLines(pending, fleetId, '<approver>').join('\n'));
  return 0;
}

/** The server a change id belongs to. */
function serverOfChange(changeId: string): string {
  const parsed = parseChangeId(changeId);
  if (!parsed) {
    throw new CliError(
      `"${changeId}" is not a change id: copy it from \`fleet approvals <fleetId>\` (form <fqdn>/<step>/<kind>)`,
      2
    );
  }
  return parsed.fqdn;
}

/**
 * Why a decision cannot apply any more (already decided, not pending), in the workflow's words with
 * what the server's status adds; the update validator covers races and the approver rules.
 */
async function staleDecision(ctx: CliContext, fqdn: string, changeId: string): Promise<string | undefined> {
  const server = await serverStatus(ctx.client, fqdn).catch(() => undefined);
  if (!server) return `${fqdn} has no onboarding workflow to decide on`;
  const refusal = changeRefusal(
    changeId,
    new Set(server.pendingApprovals.map((p) => p.change.id)),
    new Set(server.decisions.map((d) => d.changeId))
  );
  if (!refusal) return undefined;
  const earlier = server.decisions.find((d) => d.changeId === changeId);
  return earlier
    ? `${refusal}: ${earlier.decision} by ${earlier.approver} at ${earlier.at}`
    : `${refusal} (phase ${server.phase}); see \`fleet approvals\``;
}

const PAST = { approve: 'approved', reject: 'rejected' } as const;

interface DecideOptions extends KeyOptions {
  decision: 'approve' | 'reject';
  approver: string;
  reason?: string;
  kind?: string;
  servers?: string;
}

export async function decideCommand(
  ctx: CliContext,
  fleetId: string,
  changeIds: string[],
  opts: DecideOptions
): Promise<number> {
  if (!opts.reason)
    throw new CliError(`--reason is required: say why you ${opts.decision} (it is recorded with your name)`, 2);
  if (opts.kind) {
    if (changeIds.length > 0) throw new CliError('give either change ids or --kind, not both', 2);
    const parsed = kindDecisionInputSchema.safeParse({
      kind: opts.kind,
      servers: opts.servers ? opts.servers.split(',').map((s) => s.trim()) : 'all',
      decision: opts.decision,
      approver: opts.approver,
      reason: opts.reason,
    });
    if (!parsed.success) throw new CliError(`invalid decision: ${formatIssues(parsed.error.issues).join('; ')}`, 2);
    await fleetStatus(ctx.client, fleetId); // a clear "no fleet" before the update
    // The approver's key (--key, FLEET_APPROVER_KEY_FILE or --ssh-agent): decisions are signed with it.
    const signer = await signerFrom(opts);
    const d = parsed.data;
    const signed = signer
      ? {
          ...d,
          signature: await signFieldsWith(signer, {
            kind: 'fleet-kind',
            fleetId,
            riskKind: d.kind,
            servers: d.servers,
            decision: d.decision,
            signer: d.approver,
            reason: d.reason,
          }),
        }
      : d;
    const recorded = await ctx.client.workflow
      .getHandle(fleetWorkflowId(fleetId))
      .executeUpdate(decideKindUpdate, { args: [signed] });
    const scope = recorded.servers === 'all' ? 'all servers' : recorded.servers.join(', ');
    console.log(`${PAST[recorded.decision]} ${recorded.kind} for ${scope} of fleet ${fleetId} as ${recorded.approver}`);
    return 0;
  }
  if (changeIds.length === 0)
    throw new CliError('name at least one change id (see `fleet approvals <fleetId>`), or use --kind', 2);
  const fleet = await fleetStatus(ctx.client, fleetId);
  const signer = await signerFrom(opts);
  let failures = 0;
  for (const changeId of changeIds) {
    const fqdn = serverOfChange(changeId);
    if (!(fqdn in fleet.servers)) {
      console.error(`${changeId}: ${fqdn} is not a server of fleet ${fleetId}`);
      failures++;
      continue;
    }
    const input: DecisionInput = { changeId, decision: opts.decision, approver: opts.approver, reason: opts.reason };
    const parsed = decisionInputSchema.safeParse(input);
    if (!parsed.success) throw new CliError(`invalid decision: ${formatIssues(parsed.error.issues).join('; ')}`, 2);
    const stale = await staleDecision(ctx, fqdn, changeId);
    if (stale) {
      console.error(`${changeId}: refused: ${stale}`);
      failures++;
      continue;
    }
    try {
      const decision = signer ? await signedChangeDecision(ctx, fleetId, parsed.data, signer) : parsed.data;
      const recorded = await ctx.client.workflow
        .getHandle(serverWorkflowId(fqdn))
        .executeUpdate(decideChangeUpdate, { args: [decision] });
      console.log(`${changeId}: ${PAST[recorded.decision]} by ${recorded.approver} at ${recorded.at}`);
    } catch (err) {
      const cause = (err as { cause?: { message?: string } }).cause;
      console.error(`${changeId}: refused: ${cause?.message ?? (err as Error).message}`);
      failures++;
    }
  }
  return failures > 0 ? 1 : 0;
}
