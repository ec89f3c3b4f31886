/** Finding a fleet's workflows and reading their status, shared by the CLI commands. */
import {
  WorkflowExecutionAlreadyStartedError,
  WorkflowNotFoundError,
  type Client,
  type WorkflowHandle,
} from '@temporalio/client';
import type { FleetSpec } from '../domain/fleet';
import { fleetWorkflowId, fqdnOfServerWorkflowId, serverWorkflowId } from '../domain/ids';
import { FleetKey } from '../domain/search-attributes';
import type { FleetStatus, ServerStatus } from '../domain/status';
import { mapInLanes } from '../lib/lanes';
import { onboardFleet } from '../workflows';
import { fleetStatusQuery, serverStatusQuery } from '../workflows/messages';
import { CliError } from './cli-error';

/** How many Temporal calls the CLI keeps in flight when it reads many workflows. */
export const CLI_CONCURRENCY = 16;

/**
 * Starts the fleet workflow the way every entry point does (CLI, `npm start`, bench, tests). Starting a
 * fleet that is already running starts nothing new for any server: `started` is false, and the handle
 * is the running fleet's.
 */
export async function startFleetWorkflow(
  client: Client,
  taskQueue: string,
  spec: FleetSpec,
  requestedBy: string
): Promise<{ handle: WorkflowHandle<typeof onboardFleet>; started: boolean }> {
  const workflowId = fleetWorkflowId(spec.fleetId);
  try {
    const handle = await client.workflow.start(onboardFleet, {
      workflowId,
      taskQueue,
      args: [{ spec, requestedBy }],
      typedSearchAttributes: [{ key: FleetKey, value: spec.fleetId }],
      staticSummary: `Onboard fleet ${spec.fleetId}: ${spec.servers.length} Exchange servers`,
      staticDetails: `Requested by ${requestedBy}. Approvers: ${spec.approvers.join(', ')}.${spec.description ? `\n\n${spec.description}` : ''}`,
    });
    return { handle, started: true };
  } catch (err) {
    if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
    return { handle: client.workflow.getHandle<typeof onboardFleet>(workflowId), started: false };
  }
}

export async function fleetStatus(client: Client, fleetId: string): Promise<FleetStatus> {
  try {
    return await client.workflow.getHandle(fleetWorkflowId(fleetId)).query(fleetStatusQuery);
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) {
      throw new CliError(
        `no fleet "${fleetId}" in this namespace: start it with \`fleet onboard <fleet.yaml>\` (the id is the file's \`fleet:\` field)`,
        3
      );
    }
    throw err;
  }
}

/** Whether the fleet workflow (its latest run) has closed: completed, failed, cancelled or terminated. */
export async function fleetClosed(client: Client, fleetId: string): Promise<string | undefined> {
  const { status } = await client.workflow.getHandle(fleetWorkflowId(fleetId)).describe();
  return status.name === 'RUNNING' || status.name === 'CONTINUED_AS_NEW' ? undefined : status.name;
}

export async function serverStatus(client: Client, fqdn: string): Promise<ServerStatus> {
  return client.workflow.getHandle(serverWorkflowId(fqdn)).query(serverStatusQuery);
}

/** Status of the fleet's servers that were started, a few queries at a time. */
export async function serverStatuses(
  client: Client,
  fleet: FleetStatus,
  only?: (fqdn: string) => boolean
): Promise<ServerStatus[]> {
  const fqdns = Object.entries(fleet.servers)
    .filter(([fqdn, phase]) => !['queued', 'not-started', 'duplicate'].includes(phase) && (!only || only(fqdn)))
    .map(([fqdn]) => fqdn);
  const statuses = await mapInLanes(fqdns, CLI_CONCURRENCY, (fqdn) =>
    serverStatus(client, fqdn).catch(() => undefined)
  );
  // In fleet order already. A server started by another fleet under the same id answers for that fleet: not ours.
  return statuses.filter((s): s is ServerStatus => s !== undefined && s.fleetId === fleet.fleetId);
}

/**
 * Servers of a fleet waiting for a person, from the visibility store (the search attribute each
 * server workflow keeps current), so the fleet workflow's history carries no per-approval signals.
 */
export async function serversWaiting(client: Client, fleetId: string): Promise<string[]> {
  const query = `MonosyncFleet = "${fleetId}" AND MonosyncPhase IN ("awaiting-approval", "awaiting-operator") AND ExecutionStatus = "Running"`;
  const out: string[] = [];
  for await (const wf of client.workflow.list({ query })) {
    if (wf.type === 'onboardServer') out.push(fqdnOfServerWorkflowId(wf.workflowId));
  }
  return out;
}
