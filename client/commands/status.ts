/** `fleet status <fleetId>`: the fleet's counts and a table of servers × steps, with links into the Web UI. */
import { fleetWorkflowId } from '../../domain/ids';
import { uiWorkflowListPath, waitingServersQuery } from '../../workflows/render';
import { fleetListUrl, workflowUrl, type CliContext } from '../connect';
import { fleetStatus, serverStatuses } from '../fleet-handles';
import { fleetSummary, statusTable } from '../views';

/** The Web UI's list of this fleet's servers that wait for a person (the same list the fleet's details link). */
function waitingServersUrl(uiUrl: string, namespace: string, fleetId: string): string {
  return `${uiUrl}${uiWorkflowListPath(namespace, waitingServersQuery(fleetId))}`;
}

export async function statusCommand(ctx: CliContext, fleetId: string, opts: { json: boolean }): Promise<number> {
  const fleet = await fleetStatus(ctx.client, fleetId);
  const servers = await serverStatuses(ctx.client, fleet);
  if (opts.json) {
    console.log(JSON.stringify({ fleet, servers }, null, 2));
    return 0;
  }
  console.log(fleetSummary(fleet));
  console.log(statusTable(fleet, servers));
  const namespace = ctx.env.TEMPORAL_NAMESPACE;
  console.log(`fleet:   ${workflowUrl(ctx.uiUrl, namespace, fleetWorkflowId(fleetId))}`);
  console.log(`servers: ${fleetListUrl(ctx.uiUrl, namespace, fleetId)}`);
  if (Object.keys(fleet.waiting ?? {}).length > 0) {
    console.log(`waiting: ${waitingServersUrl(ctx.uiUrl, namespace, fleetId)}`);
  }
  return 0;
}
