/** History as the server stores it, read by a client without the codec: what someone with database access sees. */
import type { Client } from '@temporalio/client';
import type { Payload } from '@temporalio/common';
import { temporal } from '@temporalio/proto';
import { fleetWorkflowId } from '../../domain/ids';
import { waitFor } from './wait';

export interface RawHistory {
  workflowId: string;
  /** The whole history, protobuf-encoded: every byte the server keeps for it. */
  bytes: Buffer;
  /**
   * Every payload except search attributes (indexed by the server, never encrypted by design) and the
   * SDK's patch markers (written by its core, never through the codec: they hold only a patch's name).
   */
  payloads: Payload[];
}

function collectPayloads(value: unknown, out: Payload[], key = ''): void {
  if (value === null || typeof value !== 'object' || value instanceof Uint8Array) return;
  if (key === 'searchAttributes' || key === 'upsertWorkflowSearchAttributesEventAttributes') return;
  const record = value as Record<string, unknown>;
  if (key === 'markerRecordedEventAttributes' && record.markerName === 'core_patch') return;
  if (record.data instanceof Uint8Array && typeof record.metadata === 'object') {
    out.push(record as Payload);
    return;
  }
  for (const [k, v] of Object.entries(record)) collectPayloads(v, out, k);
}

/**
 * The raw histories of a fleet's workflow and of its `servers` server workflows, waited for because
 * the visibility store lists a child a moment after it starts.
 */
export async function rawFleetHistories(rawClient: Client, fleetId: string, servers: number): Promise<RawHistory[]> {
  const fleetWorkflow = fleetWorkflowId(fleetId);
  const query = `MonosyncFleet = "${fleetId}"`;
  const children = await waitFor(async () => {
    const found: { workflowId: string; runId?: string }[] = [];
    for await (const wf of rawClient.workflow.list({ query }))
      if (wf.workflowId !== fleetWorkflow) found.push({ workflowId: wf.workflowId, runId: wf.runId });
    return found.length >= servers && found;
  }, `${servers} server workflows of fleet ${fleetId} are listed`);
  const listed = [{ workflowId: fleetWorkflow, runId: undefined }, ...children];
  const histories: RawHistory[] = [];
  for (const wf of listed) {
    const history = await rawClient.workflow.getHandle(wf.workflowId, wf.runId).fetchHistory();
    const payloads: Payload[] = [];
    collectPayloads(history, payloads);
    histories.push({
      workflowId: wf.workflowId,
      bytes: Buffer.from(temporal.api.history.v1.History.encode(history).finish()),
      payloads,
    });
  }
  return histories;
}

export const metadataText = (p: Payload, name: string): string | undefined =>
  p.metadata?.[name] ? Buffer.from(p.metadata[name]).toString('utf8') : undefined;
