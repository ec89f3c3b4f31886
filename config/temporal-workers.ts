/**
 * The worker side of config/temporal-client.ts: a worker connection to a `TemporalTarget` and the codecs
 * the workers must encode and decode with, as one value to spread into `WorkerWiring`
 * (workers/create-workers.ts). Only processes that run workers import this (it loads the worker SDK).
 */
import type { Client } from '@temporalio/client';
import type { PayloadCodec } from '@temporalio/common';
import { NativeConnection } from '@temporalio/worker';
import { connectClient, type TemporalTarget } from './temporal-client';

/** The part of `WorkerWiring` that comes from the target: `{ ...workers, runner, taskQueue }`. */
export interface WorkerConnection {
  connection: NativeConnection;
  namespace: string;
  payloadCodecs: PayloadCodec[];
}

export async function connectWorkers(
  target: TemporalTarget
): Promise<{ workers: WorkerConnection; close(): Promise<void> }> {
  const connection = await NativeConnection.connect(target.connection);
  return {
    workers: { connection, namespace: target.namespace, payloadCodecs: target.payloadCodecs },
    close: () => connection.close(),
  };
}

/** What a process that runs its own workers and drives them needs (`npm start`, `npm run record-histories`). */
export interface ClientAndWorkers {
  client: Client;
  workers: WorkerConnection;
  close(): Promise<void>;
}

export async function connectClientAndWorkers(target: TemporalTarget): Promise<ClientAndWorkers> {
  const workerSide = await connectWorkers(target);
  try {
    const clientSide = await connectClient(target);
    return {
      client: clientSide.client,
      workers: workerSide.workers,
      close: async () => {
        await clientSide.close();
        await workerSide.close();
      },
    };
  } catch (err) {
    await workerSide.close();
    throw err;
  }
}
