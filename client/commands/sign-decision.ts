/**
 * `fleet sign-decision` prints a signed `decideChange` for the Web UI; `signedChangeDecision` builds the
 * signed decision on one pending change that `fleet approve|reject` sends. Keys: client/signing-keys.ts.
 */
import { decisionInputSchema, type DecisionInput } from '../../domain/approvals';
import { formatIssues } from '../../domain/issues';
import { parseChangeId } from '../../domain/risk';
import { CliError } from '../cli-error';
import type { CliContext } from '../connect';
import { serverStatus } from '../fleet-handles';
import { signerFrom, signFieldsWith, type KeyOptions, type Signer } from '../signing-keys';

// Where key handling lived before client/signing-keys.ts; kept for callers of that time.
export { keyFileOf, readPrivateKeySeed, signFields } from '../signing-keys';

/** A signed decision on one pending change, built from the server's own record of the change's text. */
export async function signedChangeDecision(
  ctx: CliContext,
  fleetId: string,
  input: DecisionInput,
  signer: Signer
): Promise<DecisionInput> {
  const fqdn = parseChangeId(input.changeId)?.fqdn;
  if (!fqdn) throw new CliError(`"${input.changeId}" is not a change id (form <fqdn>/<step>/<kind>)`, 2);
  const server = await serverStatus(ctx.client, fqdn);
  const change = server.pendingApprovals.find((p) => p.change.id === input.changeId)?.change;
  if (!change) throw new CliError(`${input.changeId}: not pending on ${fqdn}; see \`fleet approvals ${fleetId}\``, 1);
  const signature = await signFieldsWith(signer, {
    kind: 'change',
    fleetId,
    server: fqdn,
    changeId: input.changeId,
    changeText: change.text,
    decision: input.decision,
    signer: input.approver,
    reason: input.reason,
  });
  return { ...input, signature };
}

/** `fleet sign-decision`: prints the signed JSON to paste as the `decideChange` signal in the Web UI. */
export async function signDecisionCommand(
  ctx: CliContext,
  fleetId: string,
  changeId: string,
  opts: KeyOptions & { decision: 'approve' | 'reject'; approver: string; reason?: string }
): Promise<number> {
  const parsed = decisionInputSchema.safeParse({
    changeId,
    decision: opts.decision,
    approver: opts.approver,
    reason: opts.reason ?? '',
  });
  if (!parsed.success) throw new CliError(`invalid decision: ${formatIssues(parsed.error.issues).join('; ')}`, 2);
  const signer = await signerFrom(opts);
  if (!signer) {
    throw new CliError('give the private key: --key <file>, FLEET_APPROVER_KEY_FILE, or --ssh-agent', 2);
  }
  console.log(JSON.stringify(await signedChangeDecision(ctx, fleetId, parsed.data, signer)));
  return 0;
}
