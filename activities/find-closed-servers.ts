/**
 * Which server workflows, started by an earlier run of the fleet, have closed. A run that continued
 * as new has no child handle for them, so a server terminated by hand (for example from the Web UI)
 * would otherwise hold its slot, and keep the fleet open, for ever.
 */
import { WorkflowNotFoundError, type Client, type WorkflowExecutionDescription } from '@temporalio/client';
import { serverWorkflowId } from '../domain/ids';
import type { ServerPhase, ServerStatus } from '../domain/status';
import { mapInLanes } from '../lib/lanes';

export interface TrackedServer {
  fqdn: string;
  /** The run the fleet started; without it the latest run is asked about. */
  runId?: string;
}

export interface ClosedServer {
  fqdn: string;
  phase: ServerPhase;
  /** How the workflow closed, as Temporal reports it. */
  closedAs: string;
}

export interface FindClosedServersDeps {
  client: Client;
  /** Called after each server (the activity heartbeats). */
  progress?: () => void;
  /** A server that could not be checked is left open and reported here; the next check tries again. */
  warn?: (message: string, fields: Record<string, unknown>) => void;
}

const PHASE_BY_CLOSE: Partial<Record<string, ServerPhase>> = {
  FAILED: 'failed',
  TIMED_OUT: 'failed',
  TERMINATED: 'aborted',
  CANCELLED: 'aborted',
};

/** Describes at most this many server workflows at once. */
const CONCURRENCY = 8;

export async function findClosedServers(
  deps: FindClosedServersDeps,
  servers: TrackedServer[]
): Promise<ClosedServer[]> {
  const results = await mapInLanes(servers, CONCURRENCY, async (server) => {
    try {
      return await closedServer(deps.client, server);
    } catch (err) {
      deps.warn?.('could not check a server workflow', { fqdn: server.fqdn, error: String(err) });
      return undefined;
    } finally {
      deps.progress?.();
    }
  });
  return results.filter((r): r is ClosedServer => r !== undefined);
}

async function closedServer(client: Client, { fqdn, runId }: TrackedServer): Promise<ClosedServer | undefined> {
  const workflowId = serverWorkflowId(fqdn);
  const latest = await describeIfKept(client, workflowId);
  // A reset (or retry) of our run continues its chain: then the latest run is the one that counts.
  // A different chain means our run closed and someone started the server again since.
  const ours =
    latest && (!runId || latest.raw.workflowExecutionInfo?.firstRunId === runId)
      ? latest
      : await describeIfKept(client, workflowId, runId);
  // Gone past the namespace's retention: its outcome is unknown, so it counts as failed.
  if (!ours) return { fqdn, phase: 'failed', closedAs: 'NOT_FOUND' };
  const status = ours.status.name;
  if (status === 'COMPLETED') {
    const result = await client.workflow.getHandle<() => Promise<ServerStatus>>(workflowId, ours.runId).result();
    return { fqdn, phase: result.phase, closedAs: status };
  }
  const phase = PHASE_BY_CLOSE[status];
  return phase ? { fqdn, phase, closedAs: status } : undefined;
}

async function describeIfKept(
  client: Client,
  workflowId: string,
  runId?: string
): Promise<WorkflowExecutionDescription | undefined> {
  try {
    return await client.workflow.getHandle(workflowId, runId).describe();
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return undefined;
    throw err;
  }
}
