/** Finding a fleet's workflows and reading their status, shared by the CLI commands. */
import {
  WorkflowExecutionAlreadyStartedError,
  WorkflowNotFoundError,
  type Client,
  type WorkflowHandle,
} from '@temporalio/client';
import type { FleetSpec } from '../domain/fleet';
import type { RequestSignature } from '../domain/request-signature';
import { fleetTaskQueueFor, fleetWorkflowId, fqdnOfServerWorkflowId, serverWorkflowId } from '../domain/ids';
import { FleetKey } from '../domain/search-attributes';
import type { FleetStatus, ServerStatus } from '../domain/status';
import { mapInLanes } from '../lib/lanes';
import { onboardFleet, onboardServer } from '../workflows';
import { fleetStatusQuery, serverStatusQuery } from '../workflows/messages';
import { fleetStaticSummary, renderFleetStaticDetails, waitingServersQuery } from '../workflows/render';
import { CliError } from './cli-error';

/** How many Temporal calls the CLI keeps in flight when it reads many workflows. */
export const CLI_CONCURRENCY = 16;

/**
 * Starts the fleet workflow the way every entry point does (CLI, `npm start`, bench, tests). Starting a
 * fleet that is already running starts nothing new for any server: `started` is false, and the handle
 * is the running fleet's. The fleet runs on the fleet queue of `taskQueue` (domain/ids.ts
 * fleetTaskQueueFor), its servers on `taskQueue` itself.
 */
export async function startFleetWorkflow(
  client: Client,
  /** The main task queue, the one the worker entry polls (TEMPORAL_TASK_QUEUE). */
  taskQueue: string,
  spec: FleetSpec,
  requestedBy: string,
  /** The requester's signature (client/signing-keys.ts signRequest); a signed fleet refuses to start without it. */
  requestSignature?: RequestSignature
): Promise<{ handle: WorkflowHandle<typeof onboardFleet>; started: boolean }> {
  const workflowId = fleetWorkflowId(spec.fleetId);
  try {
    const handle = await client.workflow.start(onboardFleet, {
      workflowId,
      taskQueue: fleetTaskQueueFor(taskQueue),
      args: [{ spec, requestedBy, serverTaskQueue: taskQueue, ...(requestSignature ? { requestSignature } : {}) }],
      typedSearchAttributes: [{ key: FleetKey, value: spec.fleetId }],
      staticSummary: fleetStaticSummary(spec),
      // What the fleet is (servers, policy, approvals, requester) and its description, as the Web UI shows it.
      staticDetails: renderFleetStaticDetails(spec, requestedBy),
    });
    return { handle, started: true };
  } catch (err) {
    if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
    return { handle: client.workflow.getHandle<typeof onboardFleet>(workflowId), started: false };
  }
}

/** How long a query to a closed workflow may take: it needs a worker, and none may be running. */
const CLOSED_QUERY_DEADLINE_MS = 10_000;

/**
 * The fleet's status. A fleet that completed answers from its result, so `status` and `report` of a
 * finished fleet need no worker; a running one (or one that ended otherwise) answers a query.
 */
export async function fleetStatus(client: Client, fleetId: string): Promise<FleetStatus> {
  const handle = client.workflow.getHandle<typeof onboardFleet>(fleetWorkflowId(fleetId));
  try {
    const { status } = await handle.describe();
    if (status.name === 'COMPLETED') return await handle.result();
    if (status.name === 'RUNNING') return await handle.query(fleetStatusQuery);
    try {
      return await client.withDeadline(Date.now() + CLOSED_QUERY_DEADLINE_MS, () => handle.query(fleetStatusQuery));
    } catch (err) {
      throw new CliError(
        `fleet "${fleetId}" ended ${status.name} and its last status is read with a query, which needs a worker: start one (npm run worker) and try again (${err instanceof Error ? err.message : String(err)})`
      );
    }
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

/**
 * One server's status: the result of a server workflow that completed (every step without its full
 * before/after state, which only the live query carries), else a query.
 */
export async function serverStatus(client: Client, fqdn: string): Promise<ServerStatus> {
  const handle = client.workflow.getHandle<typeof onboardServer>(serverWorkflowId(fqdn));
  const { status } = await handle.describe();
  if (status.name === 'COMPLETED') return handle.result();
  if (status.name === 'RUNNING') return handle.query(serverStatusQuery);
  return client.withDeadline(Date.now() + CLOSED_QUERY_DEADLINE_MS, () => handle.query(serverStatusQuery));
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
  const out: string[] = [];
  for await (const wf of client.workflow.list({ query: waitingServersQuery(fleetId) })) {
    if (wf.type === 'onboardServer') out.push(fqdnOfServerWorkflowId(wf.workflowId));
  }
  return out;
}
