/**
 * Builds the two workers: the main one (workflows + Exchange/worker-side activities) and the AD one
 * (the delegation step, with the AD budget as its concurrency). Used by the entry points, `npm start`
 * and the tests, so all run the same wiring.
 */
import { NativeConnection, Worker, type WorkerOptions } from '@temporalio/worker';
import { createActivities } from '../activities';
import { adTaskQueueFor, TASK_QUEUE } from '../domain/ids';
import type { PowerShellRunner } from '../runner/port';

export interface WorkerWiring {
  connection: NativeConnection;
  namespace: string;
  runner: PowerShellRunner;
  taskQueue?: string;
  maxActivities?: number;
  adConcurrency?: number;
  /** A pre-built bundle (tests build it once); otherwise the workflows are bundled at start. */
  workflowBundle?: WorkerOptions['workflowBundle'];
}

const workflowSource = (w: WorkerWiring): Pick<WorkerOptions, 'workflowBundle' | 'workflowsPath'> =>
  w.workflowBundle ? { workflowBundle: w.workflowBundle } : { workflowsPath: require.resolve('../workflows') };

export async function createMainWorker(w: WorkerWiring): Promise<Worker> {
  return Worker.create({
    connection: w.connection,
    namespace: w.namespace,
    taskQueue: w.taskQueue ?? TASK_QUEUE,
    ...workflowSource(w),
    activities: createActivities(w.runner),
    maxConcurrentActivityTaskExecutions: w.maxActivities ?? 32,
    // Let a running PowerShell step finish on shutdown instead of cancelling it mid-change.
    shutdownGraceTime: '30s',
  });
}

export async function createAdWorker(w: WorkerWiring): Promise<Worker> {
  return Worker.create({
    connection: w.connection,
    namespace: w.namespace,
    taskQueue: adTaskQueueFor(w.taskQueue ?? TASK_QUEUE),
    activities: createActivities(w.runner),
    maxConcurrentActivityTaskExecutions: w.adConcurrency ?? 8,
    shutdownGraceTime: '30s',
  });
}
