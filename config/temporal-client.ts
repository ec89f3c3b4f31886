/**
 * How a process reaches Temporal, in one place: where (address, TLS, API key), which namespace, and the
 * payload codecs (config/codec.ts). Every client and worker connection is made from a `TemporalTarget`,
 * so a client and the workers it talks to never disagree on encryption. The worker side is
 * config/temporal-workers.ts, kept apart so the `fleet` CLI never loads the worker SDK.
 */
import { Client, Connection } from '@temporalio/client';
import type { Duration, PayloadCodec } from '@temporalio/common';
import { payloadCodecsFromEnv } from './codec';
import { connectionSettings, type ConnectionSettings, type WorkerEnv } from './environment';

export interface TemporalTarget {
  /** Options for `Connection.connect` and `NativeConnection.connect`. */
  connection: ConnectionSettings;
  namespace: string;
  /** The configured codecs; empty when the codec is off (payloads then travel as plain JSON). */
  payloadCodecs: PayloadCodec[];
}

/** The cluster the environment names. Throws `invalid environment: …` naming the variable, never a key. */
export function temporalTarget(env: WorkerEnv): TemporalTarget {
  // The codec first: a bad key ring stops the process before it connects anywhere.
  const payloadCodecs = payloadCodecsFromEnv(env);
  return { connection: connectionSettings(env), namespace: env.TEMPORAL_NAMESPACE, payloadCodecs };
}

/**
 * A dev server this process started itself (`npm start`, `npm run record-histories`): a plain local
 * connection, whatever TLS or API key the environment holds for a real cluster, but the codec the
 * environment configures, as the workers and the `fleet` CLI pointed at it use.
 */
export function devServerTarget(env: WorkerEnv, server: { address: string; namespace: string }): TemporalTarget {
  return {
    connection: { address: server.address },
    namespace: server.namespace,
    payloadCodecs: payloadCodecsFromEnv(env),
  };
}

/** `dataConverter` for a Client or a Worker: the target's codecs, or nothing (the SDK's default) when off. */
function dataConverterOf(target: TemporalTarget): { dataConverter?: { payloadCodecs: PayloadCodec[] } } {
  return target.payloadCodecs.length ? { dataConverter: { payloadCodecs: target.payloadCodecs } } : {};
}

export interface TemporalClient {
  client: Client;
  close(): Promise<void>;
}

export async function connectClient(
  target: TemporalTarget,
  options: { connectTimeout?: Duration } = {}
): Promise<TemporalClient> {
  const connection = await Connection.connect({ ...target.connection, ...options });
  const client = new Client({ connection, namespace: target.namespace, ...dataConverterOf(target) });
  return { client, close: () => connection.close() };
}
