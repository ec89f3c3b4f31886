/** `fleet status <fleetId>`: the fleet's counts and a table of servers × steps. */
import type { CliContext } from '../connect';
import { fleetStatus, serverStatuses } from '../fleet-handles';
import { fleetSummary, statusTable } from '../views';

export async function statusCommand(ctx: CliContext, fleetId: string, opts: { json: boolean }): Promise<number> {
  const fleet = await fleetStatus(ctx.client, fleetId);
  const servers = await serverStatuses(ctx.client, fleet);
  if (opts.json) {
    console.log(JSON.stringify({ fleet, servers }, null, 2));
    return 0;
  }
  console.log(fleetSummary(fleet));
  console.log(statusTable(fleet, servers));
  return 0;
}
