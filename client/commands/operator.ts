/** `fleet retry|skip|abort <fleetId> <fqdn>`: steer a server that waits for an operator. */
import { operatorDecisionInputSchema } from '../../domain/approvals';
import { formatIssues } from '../../domain/issues';
import { serverWorkflowId } from '../../domain/ids';
import { resolveStepUpdate } from '../../workflows/messages';
import { CliError } from '../cli-error';
import type { CliContext } from '../connect';
import { fleetStatus, serverStatus } from '../fleet-handles';
import { signerFrom, signFieldsWith, type KeyOptions } from '../signing-keys';

export async function operatorCommand(
  ctx: CliContext,
  action: 'retry' | 'skip' | 'abort',
  fleetId: string,
  fqdn: string,
  opts: KeyOptions & { operator: string; reason?: string }
): Promise<number> {
  const parsed = operatorDecisionInputSchema.safeParse({ action, operator: opts.operator, reason: opts.reason ?? '' });
  if (!parsed.success)
    throw new CliError(`invalid ${action}: ${formatIssues(parsed.error.issues).join('; ')} (use --reason "...")`, 2);
  const fleet = await fleetStatus(ctx.client, fleetId);
  if (!(fqdn in fleet.servers)) throw new CliError(`${fqdn} is not a server of fleet ${fleetId}`, 3);
  const server = await serverStatus(ctx.client, fqdn).catch(() => undefined);
  if (!server || server.fleetId !== fleetId) throw new CliError(`${fqdn} has not been started by fleet ${fleetId}`, 3);
  if (server.phase !== 'awaiting-operator') {
    throw new CliError(`${fqdn} is not waiting for an operator (phase ${server.phase}); nothing to ${action}`, 1);
  }
  const signer = await signerFrom(opts);
  const d = parsed.data;
  const input = signer
    ? {
        ...d,
        signature: await signFieldsWith(signer, {
          kind: 'operator',
          fleetId,
          server: fqdn,
          action: d.action,
          signer: d.operator,
          reason: d.reason,
        }),
      }
    : d;
  const answer = await ctx.client.workflow
    .getHandle(serverWorkflowId(fqdn))
    .executeUpdate(resolveStepUpdate, { args: [input] });
  console.log(`${fqdn}: ${answer}`);
  return 0;
}
