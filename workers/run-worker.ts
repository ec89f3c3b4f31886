/**
 * Runs an entry point's workers until SIGINT/SIGTERM. The SDK's runtime turns those signals into a graceful
 * shutdown (running activities get the grace time to finish); then the runner and connection close.
 */
import { NativeConnection, Runtime, type Worker } from '@temporalio/worker';
import { connectionSettings, readEnv } from '../config/environment';
import { payloadCodecsFromEnv } from '../config/codec';
import type { WorkerWiring } from './create-workers';
import { metricsBindAddress, metricsRuntimeOptions } from './metrics';
import { runnerFromEnv } from './runner-from-env';
import { workflowBundleFromEnv } from './workflow-bundle';

/** An entry point's workers: the main one with the fleet one beside it, or the AD one. */
export type CreateWorkers = (w: WorkerWiring) => Promise<Worker[]>;

export async function runWorker(name: string, create: CreateWorkers): Promise<void> {
  const env = readEnv();
  // Before connecting: a bad key ring stops the worker at once, naming the variable.
  const payloadCodecs = payloadCodecsFromEnv(env);
  const metricsAddress = metricsBindAddress();
  // A prebuilt bundle lets a (re)started worker poll at once instead of bundling for seconds first.
  const bundle = workflowBundleFromEnv();
  // Before the first connection: the runtime is created once per process, with its exporter.
  if (metricsAddress) Runtime.install(metricsRuntimeOptions(metricsAddress));
  const connection = await NativeConnection.connect(connectionSettings(env));
  const runner = runnerFromEnv(env);
  try {
    const workers = await create({
      connection,
      namespace: env.TEMPORAL_NAMESPACE,
      runner,
      taskQueue: env.TEMPORAL_TASK_QUEUE,
      maxActivities: env.FLEET_MAX_ACTIVITIES,
      adConcurrency: env.FLEET_AD_CONCURRENCY,
      payloadCodecs,
      ...bundle,
    });
    if (metricsAddress) console.log(`${name} worker metrics: http://${metricsAddress}/metrics`);
    console.log(
      `${name} worker polling ${workers.map((w) => w.options.taskQueue).join(' and ')} on ${env.TEMPORAL_ADDRESS} (namespace ${env.TEMPORAL_NAMESPACE}, runner ${env.FLEET_RUNNER}${bundle.workflowBundle ? ', prebuilt workflow bundle' : ''}, payloads ${payloadCodecs.length ? 'encrypted' : 'plain'}); Ctrl-C stops it gracefully`
    );
    await runTogether(workers);
    console.log(`${name} worker stopped`);
  } finally {
    await runner.close();
    await connection.close();
  }
}

/** Runs the workers until all stop; one that fails stops the others (gracefully) and its error is thrown. */
export async function runTogether(workers: Worker[]): Promise<void> {
  const runs = workers.map((w) => w.run());
  try {
    await Promise.all(runs);
  } catch (err) {
    for (const w of workers) if (w.getState() === 'RUNNING') w.shutdown();
    await Promise.allSettled(runs);
    throw err;
  }
}

export function main(name: string, create: CreateWorkers): void {
  runWorker(name, create).catch((err: unknown) => {
    console.error(`${name} worker failed: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  });
}
