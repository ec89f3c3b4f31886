/**
 * Builds the workers: the main one (workflows + Exchange/worker-side activities), the fleet one beside
 * it (fleet onboarding workflows, on a workflow thread of their own, and their check on closed servers) and the AD one (the
 * delegation step, with the AD budget as its concurrency). Used by the entry points, `npm start`
 * and the tests, so all run the same wiring. The benchmark's bare-SDK baseline takes its settings from
 * `mainWorkerSettings`/`adWorkerSettings` too, so product and baseline always run with the same knobs;
 * only the product's AD worker holds a few more steps than its budget (`adStepSlots`).
 */
import type { PayloadCodec } from '@temporalio/common';
import { NativeConnection, Worker, type WorkerOptions } from '@temporalio/worker';
import { createActivities } from '../activities';
import { DEFAULT_AD_CONCURRENCY, DEFAULT_MAX_ACTIVITIES } from '../config/environment';
import { countStepFailures } from '../activities/metrics';
import { adTaskQueueFor, fleetTaskQueueFor, TASK_QUEUE } from '../domain/ids';
import type { PowerShellRunner } from '../runner/port';
import { limitConcurrentCalls } from '../runner/call-budget';
import { pinDomainController } from '../steps/Enable-KerberosDelegation/pin-domain-controller';
import { bundleWorkflows, WORKFLOW_PRELOAD_MODULES } from './workflow-bundle';

/** The worker knobs that bear on throughput, for the benchmark to try (README "Benchmark"). */
export type WorkerTuning = Pick<
  WorkerOptions,
  | 'maxCachedWorkflows'
  | 'maxConcurrentWorkflowTaskExecutions'
  | 'maxConcurrentWorkflowTaskPolls'
  | 'maxConcurrentActivityTaskPolls'
  | 'nonStickyToStickyPollRatio'
  | 'workflowThreadPoolSize'
  | 'reuseV8Context'
>;

export interface WorkerWiring {
  connection: NativeConnection;
  namespace: string;
  runner: PowerShellRunner;
  taskQueue?: string;
  maxActivities?: number;
  adConcurrency?: number;
  /** A pre-built bundle (tests build it once); otherwise the workflows are bundled at start. */
  workflowBundle?: WorkerOptions['workflowBundle'];
  /** Overrides of the SDK's defaults; none by default. */
  tuning?: WorkerTuning;
  /** Payload encryption (config/codec.ts `payloadCodecsFromEnv`); none (plain payloads) when absent or empty. */
  payloadCodecs?: PayloadCodec[];
}

type WorkerSettings = Pick<
  WorkerOptions,
  | 'connection'
  | 'namespace'
  | 'taskQueue'
  | 'maxConcurrentActivityTaskExecutions'
  | 'shutdownGraceTime'
  | 'maxHeartbeatThrottleInterval'
  | 'stickyQueueScheduleToStartTimeout'
> &
  WorkerTuning;

const workflowSource = (
  w: Pick<WorkerWiring, 'workflowBundle'>
): Pick<WorkerOptions, 'workflowBundle' | 'workflowsPath' | 'bundlerOptions'> =>
  w.workflowBundle
    ? { workflowBundle: w.workflowBundle }
    : { workflowsPath: require.resolve('../workflows'), bundlerOptions: { preloadModules: WORKFLOW_PRELOAD_MODULES } };

/**
 * Step heartbeats reach Temporal every few seconds (activities/run-step.ts beats a third of the step
 * heartbeat timeout), not held back to the SDK's default 80% of that timeout, which would leave a
 * busy worker 2 s of a 10 s timeout before its live attempt is taken for dead and retried.
 */
const fastRecovery = { maxHeartbeatThrottleInterval: '2s' } as const;

/** Everything about the main worker but what it runs (workflows, activities). */
export function mainWorkerSettings(w: Omit<WorkerWiring, 'runner'>): WorkerSettings {
  return {
    connection: w.connection,
    namespace: w.namespace,
    taskQueue: w.taskQueue ?? TASK_QUEUE,
    maxConcurrentActivityTaskExecutions: w.maxActivities ?? DEFAULT_MAX_ACTIVITIES,
    // Let a running PowerShell step finish on shutdown instead of cancelling it mid-change.
    shutdownGraceTime: '30s',
    ...fastRecovery,
    // A killed worker's cached workflows wait this long on its sticky queue before a restarted worker
    // may take them (SDK default 10s); a restart takes about as long, so the wait is hidden.
    stickyQueueScheduleToStartTimeout: '3s',
    ...w.tuning,
  };
}

/**
 * Fleet runs one worker holds at once. A fleet run evicted from the cache is replayed on its next task
 * (about 0.7 ms per history event, up to its 2,000-event budget), so the cache is set here rather than
 * left to the SDK, which sizes it from the heap limit and leaves a capped heap next to none.
 */
const FLEET_WORKER_CACHED_WORKFLOWS = 100;

/** Everything about the fleet worker but what it runs: the fleet queue of the main worker's queue. */
export function fleetWorkerSettings(w: Omit<WorkerWiring, 'runner'>): WorkerSettings {
  return {
    connection: w.connection,
    namespace: w.namespace,
    taskQueue: fleetTaskQueueFor(w.taskQueue ?? TASK_QUEUE),
    shutdownGraceTime: '30s',
    stickyQueueScheduleToStartTimeout: '3s',
    maxCachedWorkflows: FLEET_WORKER_CACHED_WORKFLOWS,
  };
}

/**
 * Delegation steps an AD worker runs at once for a budget of `budget` calls at the domain controllers
 * (runner/call-budget.ts counts those): twice as many, so that while steps report their results, fetch
 * the next ones and run their own code between calls, others hold calls ready and the DCs stay at their
 * budget instead of waiting on the worker. With the delegation step started beside the host steps
 * (domain/steps.ts OVERLAPPED_PLAN) a quarter more (10 for 8) left the DCs idle 3 to 9 % of the run on a
 * loaded machine; twice (16) kept them at 97 % (README "The AD budget in calls, not steps").
 */
export function adStepSlots(budget: number): number {
  return budget * 2;
}

/**
 * Everything about the AD worker but its activities. It runs no workflows, so workflow knobs stay out.
 * Its slots are the budget (the baseline's, whose steps are the calls); createAdWorker raises them.
 */
export function adWorkerSettings(w: Omit<WorkerWiring, 'runner'>): WorkerSettings {
  return {
    connection: w.connection,
    namespace: w.namespace,
    taskQueue: adTaskQueueFor(w.taskQueue ?? TASK_QUEUE),
    maxConcurrentActivityTaskExecutions: w.adConcurrency ?? DEFAULT_AD_CONCURRENCY,
    shutdownGraceTime: '30s',
    ...fastRecovery,
    ...(w.tuning?.maxConcurrentActivityTaskPolls !== undefined
      ? { maxConcurrentActivityTaskPolls: w.tuning.maxConcurrentActivityTaskPolls }
      : {}),
  };
}

/** The product's own step-failure metric (README "Metrics"); the benchmark's bare-SDK baseline has none. */
const productInterceptors: WorkerOptions['interceptors'] = { activity: [countStepFailures] };

/** Both workers encode and decode with the same codecs, or one could not read what the other wrote. */
const dataConverter = (w: Pick<WorkerWiring, 'payloadCodecs'>): Pick<WorkerOptions, 'dataConverter'> =>
  w.payloadCodecs?.length ? { dataConverter: { payloadCodecs: w.payloadCodecs } } : {};

export async function createMainWorker(w: WorkerWiring): Promise<Worker> {
  return Worker.create({
    ...mainWorkerSettings(w),
    ...workflowSource(w),
    activities: createActivities(w.runner),
    interceptors: productInterceptors,
    ...dataConverter(w),
  });
}

/**
 * The fleet onboarding workflows (started on the fleet queue by client/fleet-handles.ts), on a workflow
 * thread of their own: a fleet's tasks (starting servers, noticing their ends) no longer wait behind
 * its servers' activations on the main worker's thread. Its one activity asks Temporal which servers closed.
 */
export async function createFleetWorker(w: WorkerWiring): Promise<Worker> {
  const { findClosedServers } = createActivities(w.runner);
  return Worker.create({
    ...fleetWorkerSettings(w),
    ...workflowSource(w),
    activities: { findClosedServers },
    ...dataConverter(w),
  });
}

/** The main worker and the fleet worker, as the main entry point runs them, bundling the workflows once for both. */
export async function createOnboardingWorkers(w: WorkerWiring): Promise<Worker[]> {
  const workflowBundle = w.workflowBundle ?? { code: await bundleWorkflows() };
  return [await createMainWorker({ ...w, workflowBundle }), await createFleetWorker({ ...w, workflowBundle })];
}

export async function createAdWorker(w: WorkerWiring): Promise<Worker> {
  const budget = w.adConcurrency ?? DEFAULT_AD_CONCURRENCY;
  // Plan, change and verify of the delegation step on one DC (the fleet's, else the first one found),
  // at most `budget` calls at a time, however many steps run.
  return Worker.create({
    ...adWorkerSettings(w),
    maxConcurrentActivityTaskExecutions: adStepSlots(budget),
    activities: createActivities(pinDomainController(limitConcurrentCalls(w.runner, budget))),
    interceptors: productInterceptors,
    ...dataConverter(w),
  });
}
