/** `fleet cancel <fleetId>`: stop the fleet; running servers are cancelled between steps. */
import { fleetWorkflowId } from '../../domain/ids';
import type { CliContext } from '../connect';
import { fleetClosed, fleetStatus } from '../fleet-handles';

export async function cancelCommand(ctx: CliContext, fleetId: string): Promise<number> {
  const status = await fleetStatus(ctx.client, fleetId);
  const closed = await fleetClosed(ctx.client, fleetId);
  if (closed) {
    console.log(`fleet ${fleetId} has already finished (${closed.toLowerCase()}); nothing to cancel`);
    return 0;
  }
  await ctx.client.workflow.getHandle(fleetWorkflowId(fleetId)).cancel();
  console.log(
    `cancellation requested for fleet ${fleetId} (${status.inFlight.length} servers in flight are cancelled too)`
  );
  return 0;
}
