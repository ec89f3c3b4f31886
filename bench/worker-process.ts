/**
 * The benchmark's worker process: the product's workers with the lab (or the baseline's workers), on a
 * prebuilt workflow bundle, and nothing else, so its CPU and memory are the worker's own (the client,
 * the bundler and the history reading stay in the bench process). Started by `bench/worker-host.ts`;
 * it reports the lab's counts every SAMPLE_EVERY_MS and stops on request.
 */
import { NativeConnection, Runtime, DefaultLogger, Worker } from '@temporalio/worker';
import type { FleetSpec } from '../domain/fleet';
import type { PowerShellRunner } from '../runner/port';
import {
  adWorkerSettings,
  createAdWorker,
  createOnboardingWorkers,
  mainWorkerSettings,
} from '../workers/create-workers';
import type { WorkerTuning } from '../workers/create-workers';
import { InFlightServers, createBaselineActivities } from './baseline/activities';
import { LabProcess } from './lab-client';

export interface WorkerProcessConfig {
  kind: 'product' | 'baseline';
  address: string;
  taskQueue: string;
  maxActivities: number;
  adConcurrency: number;
  tuning: WorkerTuning;
  /** A workflow bundle written by the bench process (bundling stays out of the worker's memory). */
  bundlePath: string;
  /** Node options of this process (`--max-old-space-size=…`), the same for product and baseline. */
  nodeOptions?: string[];
  /** Product only: the lab's latency per call and the fleet whose servers it simulates. */
  latencyMs?: number;
  estate?: FleetSpec;
}

export interface WorkerProcessStats {
  inFlightServers: number;
  maxInFlightServers: number;
  maxAdInFlight: number;
  calls: number;
  /** Calls of each script since the last reset, in first-call order, and whether they went to the domain controllers. */
  byScript: Array<[string, { calls: number; ad: boolean }]>;
  /** The product's lab process (bench/lab-process.ts), for the bench to read its CPU and memory. */
  labPid?: number;
}

export type ToWorker =
  | { type: 'start'; config: WorkerProcessConfig }
  | { type: 'reset' }
  | { type: 'faults'; rate: number }
  | { type: 'stop' };
export type FromWorker =
  | { type: 'ready' }
  | { type: 'stats'; stats: WorkerProcessStats }
  | { type: 'stopped'; stats: WorkerProcessStats }
  | { type: 'failed'; error: string };

const SAMPLE_EVERY_MS = 100;

/** Counts the calls of each script (in first-call order) and which ones went to the domain controllers. */
class CountingRunner implements PowerShellRunner {
  byScript = new Map<string, { calls: number; ad: boolean }>();
  constructor(private readonly inner: PowerShellRunner) {}
  run: PowerShellRunner['run'] = (call) => {
    const seen = this.byScript.get(call.script) ?? { calls: 0, ad: call.target.host === 'ad' };
    seen.calls += 1;
    this.byScript.set(call.script, seen);
    return this.inner.run(call);
  };
  close(): Promise<void> {
    return this.inner.close();
  }
}

const send = (message: FromWorker): void => {
  process.send?.(message);
};

async function run(config: WorkerProcessConfig): Promise<void> {
  // ERROR, not WARN: with --faults every failed attempt would print its stack (thousands of lines, and the
  // worker's CPU to write them); the bench reads retries and failed workflow tasks from the histories.
  Runtime.install({ logger: new DefaultLogger('ERROR') });
  const connection = await NativeConnection.connect({ address: config.address });
  const wiring = {
    connection,
    namespace: 'default',
    taskQueue: config.taskQueue,
    maxActivities: config.maxActivities,
    adConcurrency: config.adConcurrency,
    tuning: config.tuning,
    workflowBundle: { codePath: config.bundlePath },
  };
  let stats: () => WorkerProcessStats;
  let reset: () => void;
  let injectFaults: (rate: number) => void = () => undefined;
  let workers: Worker[];
  let lab: LabProcess | undefined;
  if (config.kind === 'product') {
    if (!config.estate) throw new Error('a product worker needs the fleet its lab simulates');
    // The simulated servers in a process of their own (bench/lab-process.ts): not the worker's memory or CPU.
    const labProcess = await LabProcess.start(config.estate, config.latencyMs ?? 0);
    lab = labProcess;
    let counting = new CountingRunner(labProcess);
    // The workers hold the runner they were given: a reset swaps the counts, not the runner.
    const runner: PowerShellRunner = { run: (call) => counting.run(call), close: () => labProcess.close() };
    workers = [...(await createOnboardingWorkers({ ...wiring, runner })), await createAdWorker({ ...wiring, runner })];
    stats = () => ({
      inFlightServers: labProcess.stats.inFlightServers,
      maxInFlightServers: labProcess.stats.maxInFlightServers,
      maxAdInFlight: labProcess.stats.maxAdInFlight,
      calls: labProcess.stats.calls,
      byScript: [...counting.byScript],
      ...(labProcess.pid ? { labPid: labProcess.pid } : {}),
    });
    reset = () => {
      labProcess.resetStats();
      counting = new CountingRunner(labProcess);
    };
    injectFaults = (rate) => labProcess.injectFaults(rate);
  } else {
    const inFlight = new InFlightServers();
    const activities = createBaselineActivities(inFlight);
    workers = [
      await Worker.create({ ...mainWorkerSettings(wiring), workflowBundle: wiring.workflowBundle, activities }),
      await Worker.create({ ...adWorkerSettings(wiring), activities }),
    ];
    stats = () => ({
      inFlightServers: inFlight.count,
      maxInFlightServers: inFlight.max,
      maxAdInFlight: 0,
      calls: inFlight.calls,
      byScript: [],
    });
    reset = () => inFlight.reset();
  }
  const running = workers.map((w) => w.run());
  // BENCH_MEMORY_LOG=1: the main isolate's share of the process's memory, to tell it from the workflow thread's.
  const peak = { heapTotal: 0, heapUsed: 0, external: 0, rss: 0 };
  const reporter = setInterval(() => {
    send({ type: 'stats', stats: stats() });
    if (process.env.BENCH_MEMORY_LOG) {
      const m = process.memoryUsage();
      for (const k of Object.keys(peak) as Array<keyof typeof peak>) peak[k] = Math.max(peak[k], m[k]);
    }
  }, SAMPLE_EVERY_MS);
  const stopped = new Promise<void>((resolve) => {
    process.on('message', (message: ToWorker) => {
      if (message.type === 'reset') reset();
      if (message.type === 'faults') injectFaults(message.rate);
      if (message.type === 'stop') resolve();
    });
  });
  // The first counts before 'ready', so the bench knows the lab's process from the start.
  send({ type: 'stats', stats: stats() });
  send({ type: 'ready' });
  await stopped;
  clearInterval(reporter);
  if (process.env.BENCH_MEMORY_LOG) {
    const mb = (v: number) => `${(v / 1024 / 1024).toFixed(0)} MB`;
    console.log(
      `  ${config.kind} worker, peaks: rss ${mb(peak.rss)}, main heap ${mb(peak.heapTotal)} (used ${mb(peak.heapUsed)}), external ${mb(peak.external)}`
    );
  }
  for (const w of workers) w.shutdown();
  await Promise.all(running);
  await lab?.close();
  await connection.close();
  send({ type: 'stopped', stats: stats() });
}

process.once('message', (message: ToWorker) => {
  if (message.type !== 'start') return;
  run(message.config).then(
    () => process.exit(0),
    (err: unknown) => {
      send({ type: 'failed', error: err instanceof Error ? (err.stack ?? err.message) : String(err) });
      process.exit(1);
    }
  );
});
