/** `fleet onboard <file>`: validate, start the fleet workflow (once), print ids and UI links; `--wait` follows it. */
import { fleetWorkflowId, serverWorkflowId } from '../../domain/ids';
import { FINAL_PHASES, type FleetStatus } from '../../domain/status';
import type { CliContext } from '../connect';
import { fleetListUrl, workflowUrl } from '../connect';
import { fleetClosed, fleetStatus, serversWaiting, serverStatuses, startFleetWorkflow } from '../fleet-handles';
import { readFleetFile } from '../fleet-file';
import { retryWhileUnavailable, WAIT_OUTAGE_POLICY, type OutagePolicy } from '../outage';
import { progress } from '../progress';
import { approvalLines, fleetSummary, statusTable } from '../views';
import { signedRequest, type RequestOptions } from './sign-request';

interface OnboardOptions extends RequestOptions {
  requestedBy: string;
  wait: boolean;
  /** Poll interval while waiting. */
  pollMs?: number;
  /** How long and how often to try again while Temporal is unreachable (tests shorten it). */
  outage?: OutagePolicy;
}

export async function onboardCommand(ctx: CliContext, file: string, opts: OnboardOptions): Promise<number> {
  const spec = readFleetFile(file);
  // Checked here as the workflow checks it: a request it would refuse starts nothing (exit 2).
  const requestSignature = await signedRequest(spec, opts.requestedBy, opts);
  const { client, env } = ctx;
  const workflowId = fleetWorkflowId(spec.fleetId);
  const { started } = await startFleetWorkflow(
    client,
    env.TEMPORAL_TASK_QUEUE,
    spec,
    opts.requestedBy,
    requestSignature
  );
  const requester = requestSignature
    ? `${opts.requestedBy} (signed request)`
    : `${opts.requestedBy} (self-asserted: approvals unsigned)`;
  console.log(
    started
      ? `started fleet ${spec.fleetId}: ${spec.servers.length} servers, requested by ${requester}`
      : `fleet ${spec.fleetId} is already running: nothing new started (follow it with \`fleet status ${spec.fleetId}\`)`
  );
  console.log(`  fleet workflow:  ${workflowId}  ${workflowUrl(ctx.uiUrl, env.TEMPORAL_NAMESPACE, workflowId)}`);
  console.log(
    `  server workflows: ${serverWorkflowId('<fqdn>')}  ${fleetListUrl(ctx.uiUrl, env.TEMPORAL_NAMESPACE, spec.fleetId)}`
  );
  if (!opts.wait) return 0;
  // The fleet goes on while Temporal restarts: so does following it (told on stderr, not the exit code).
  const outage: OutagePolicy = {
    ...WAIT_OUTAGE_POLICY,
    onOutage: (err) =>
      console.error(
        `\nTemporal is unreachable (${err instanceof Error ? err.message.split('\n')[0] : String(err)}); the fleet runs on, trying again...`
      ),
    onRecovered: (ms) => console.error(`Temporal answers again after ${Math.round(ms / 1000)} s`),
    ...opts.outage,
  };
  const final = await follow(
    ctx,
    spec.fleetId,
    opts.pollMs ?? 1000,
    spec.approvers.find((a) => a !== opts.requestedBy) ?? '<approver>',
    outage
  );
  console.log(statusTable(final, await retryWhileUnavailable(() => serverStatuses(client, final), outage)));
  console.log(fleetSummary(final));
  const bad = Object.values(final.servers).filter((p) => ['failed', 'aborted'].includes(p)).length;
  return bad > 0 || final.stoppedReason ? 1 : 0;
}

/** A live progress bar until the fleet is done; pending approvals are printed once each. */
async function follow(
  ctx: CliContext,
  fleetId: string,
  pollMs: number,
  approverHint: string,
  outage: OutagePolicy
): Promise<FleetStatus> {
  const bar = progress();
  let status: FleetStatus;
  const shown = new Set<string>();
  try {
    for (;;) {
      const polled = await retryWhileUnavailable(async () => {
        const current = await fleetStatus(ctx.client, fleetId);
        const closed = current.done || (await fleetClosed(ctx.client, fleetId)) !== undefined;
        return {
          current,
          closed,
          waiting: closed ? new Set<string>() : new Set(await serversWaiting(ctx.client, fleetId)),
        };
      }, outage);
      status = polled.current;
      const done = Object.values(status.servers).filter((p) => FINAL_PHASES.includes(p)).length;
      const phases = Object.entries(status.counts.byPhase)
        .map(([p, n]) => `${p} ${n}`)
        .join(', ');
      bar.update(done, status.counts.total, phases);
      if (polled.closed) break;
      const { waiting } = polled;
      if (waiting.size > 0) {
        const details = await retryWhileUnavailable(
          () => serverStatuses(ctx.client, status, (fqdn) => waiting.has(fqdn)),
          outage
        );
        const lines: string[] = [];
        for (const s of details) {
          const fresh = s.pendingApprovals.filter((p) => !shown.has(p.change.id));
          fresh.forEach((p) => shown.add(p.change.id));
          lines.push(...approvalLines(fresh, fleetId, approverHint));
          if (s.awaitingOperator && !shown.has(`${s.fqdn}/operator/${s.awaitingOperator.step}`)) {
            shown.add(`${s.fqdn}/operator/${s.awaitingOperator.step}`);
            lines.push(
              `${s.fqdn} waits for an operator at ${s.awaitingOperator.step}: ${s.awaitingOperator.error.type}: ${s.awaitingOperator.error.message}`,
              `    npm run fleet -- retry|skip|abort ${fleetId} ${s.fqdn} --reason "..."`
            );
          }
        }
        if (lines.length > 0) console.log(`\nwaiting for a decision:\n${lines.join('\n')}\n`);
      }
      await new Promise((r) => setTimeout(r, pollMs));
    }
  } finally {
    bar.stop();
  }
  return status;
}
