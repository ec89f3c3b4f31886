/**
 * Which server workflows, started by an earlier run of the fleet, have closed. A run that continued
 * as new has no child handle for them, so a server terminated by hand (for example from the Web UI)
 * would otherwise hold its slot, and keep the fleet open, for ever.
 */
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import { serverWorkflowId } from '../domain/ids';
import type { ServerPhase, ServerStatus } from '../domain/status';

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

const PHASE_BY_CLOSE: Partial<Record<string, ServerPhase>> = {
  FAILED: 'failed',
  TIMED_OUT: 'failed',
  TERMINATED: 'aborted',
  CANCELLED: 'aborted',
};

export async function findClosedServers(client: Client, servers: TrackedServer[]): Promise<ClosedServer[]> {
  const closed: ClosedServer[] = [];
  for (const { fqdn, runId } of servers) {
    const handle = client.workflow.getHandle<() => Promise<ServerStatus>>(serverWorkflowId(fqdn), runId);
    try {
      const { status } = await handle.describe();
      if (status.name === 'COMPLETED') {
        closed.push({ fqdn, phase: (await handle.result()).phase, closedAs: status.name });
      } else if (PHASE_BY_CLOSE[status.name]) {
        closed.push({ fqdn, phase: PHASE_BY_CLOSE[status.name] ?? 'failed', closedAs: status.name });
      }
    } catch (err) {
      if (!(err instanceof WorkflowNotFoundError)) throw err;
      // Gone past the namespace's retention: its outcome is unknown, so it counts as failed.
      closed.push({ fqdn, phase: 'failed', closedAs: 'NOT_FOUND' });
    }
  }
  return closed;
}
