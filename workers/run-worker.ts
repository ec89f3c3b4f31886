/**
 * Runs one worker until SIGINT/SIGTERM. The SDK's runtime turns those signals into a graceful
 * shutdown (running activities get the grace time to finish); then the runner and connection close.
 */
import { NativeConnection, type Worker } from '@temporalio/worker';
import { connectionSettings, readEnv } from '../config/environment';
import type { WorkerWiring } from './create-workers';
import { runnerFromEnv } from './runner-from-env';

export async function runWorker(name: string, create: (w: WorkerWiring) => Promise<Worker>): Promise<void> {
  const env = readEnv();
  const connection = await NativeConnection.connect(connectionSettings(env));
  const runner = runnerFromEnv(env);
  try {
    const worker = await create({
      connection,
      namespace: env.TEMPORAL_NAMESPACE,
      runner,
      taskQueue: env.TEMPORAL_TASK_QUEUE,
      maxActivities: env.FLEET_MAX_ACTIVITIES,
      adConcurrency: env.FLEET_AD_CONCURRENCY,
    });
    console.log(
      `${name} worker polling ${worker.options.taskQueue} on ${env.TEMPORAL_ADDRESS} (namespace ${env.TEMPORAL_NAMESPACE}, runner ${env.FLEET_RUNNER}); Ctrl-C stops it gracefully`
    );
    await worker.run();
    console.log(`${name} worker stopped`);
  } finally {
    await runner.close();
    await connection.close();
  }
}

export function main(name: string, create: (w: WorkerWiring) => Promise<Worker>): void {
  runWorker(name, create).catch((err: unknown) => {
    console.error(`${name} worker failed: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  });
}
