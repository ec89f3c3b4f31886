/**
 * `npm run bench [-- --servers 1000 --max-parallel 100 --ad 8 --latency 250]`: on one dev server of its
 * own, onboards a lab fleet with the product and runs a bare-SDK baseline of the same shape
 * (bench/baseline/: a parent starting child workflows C at a time, each sleeping through the product's
 * steps, same remote time per server, same worker settings), and compares the two and the remote-call
 * floor. Order: a one-server product run to measure the calls of each step (the baseline's shape),
 * then the baseline, then the product. It checks what must hold at scale:
 *   - servers in flight (as the lab sees them) never above maxParallel,
 *   - calls against the domain controllers never above the AD budget,
 *   - no run of the fleet workflow (continue-as-new chain) over 4,096 history events,
 *   - every server onboarded, and no workflow task failed or timed out (retried silently otherwise).
 * Exits 1 when a check fails. Times are printed and written to bench/results/, never asserted.
 * `npm run bench -- --readme` copies the latest run's table into README.md and runs nothing.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { z } from 'zod';
import { Client, Connection } from '@temporalio/client';
import { bundleWorkflowCode, DefaultLogger, Runtime } from '@temporalio/worker';
import type { BaselineStep } from '../bench/baseline/shape';
import type { baselineFleet } from '../bench/baseline/workflows';
import { inFlightStats, ratio, remoteCallFloorMs, spread, type InFlightSample } from '../bench/figures';
import { HistoryDigest, type DigestFigures } from '../bench/digest';
import { findDevServerPid, readProc, readThreads, threadCpu } from '../bench/proc';
import { WorkerHost } from '../bench/worker-host';
import type { WorkerProcessConfig, WorkerProcessStats } from '../bench/worker-process';
import {
  benchResultSchema,
  faultsLine,
  renderMarkdown,
  figuresTable,
  withReadmeTable,
  type BenchResult,
  type PhaseFigures,
} from '../bench/report';
import { freePort, startDevServer } from '../devserver/dev-server';
import { TEMPORAL_DIR } from '../devserver/temporal-cli';
import { mapInLanes } from '../lib/lanes';
import { validateFleet, type FleetSpec } from '../domain/fleet';
import { fleetWorkflowId, isFleetBatchWorkflowId, serverWorkflowId } from '../domain/ids';
import { RISK_KINDS } from '../domain/steps';
import { decideKindUpdate, fleetStatusQuery } from '../workflows/messages';
import type { WorkerTuning } from '../workers/create-workers';
import { WORKFLOW_BUNDLE_DEVTOOL, writeWorkflowBundle } from '../workers/workflow-bundle';
import { startFleetWorkflow } from '../client/fleet-handles';
import { parseArgsOrExit } from './cli-args';

Runtime.install({ logger: new DefaultLogger('WARN') });

const ROOT = path.resolve(__dirname, '..');
const RESULTS_DIR = path.join(ROOT, 'bench', 'results');
const LATEST_JSON = path.join(RESULTS_DIR, 'latest.json');
/** Issue 14 item 3: no fleet run over 4,096 history events. */
const HISTORY_LIMIT = 4_096;
const SAMPLE_EVERY_MS = 100;
const WORKER_NODE_OPTIONS = '--max-old-space-size=192 --max-semi-space-size=8';

const { values: o } = parseArgsOrExit('npm run bench', {
  options: {
    servers: { type: 'string', default: '1000' },
    'max-parallel': { type: 'string', default: '100' },
    ad: { type: 'string', default: '8' },
    latency: { type: 'string', default: '250' },
    /** The main worker's activity slots; by default maxParallel, so the worker is never the cap. */
    'max-activities': { type: 'string' },
    /** JSON of worker knobs (WorkerTuning in workers/create-workers.ts), applied to product and baseline. */
    tuning: { type: 'string', default: '{}' },
    /**
     * Node options of both worker processes (product and baseline). By default V8's heaps are capped: without
     * a cap V8 lets each isolate (the main thread, the workflow thread) grow far past what it holds live
     * before collecting, and the process's peak memory follows the cap, not the work (README).
     */
    'worker-node-options': { type: 'string', default: WORKER_NODE_OPTIONS },
    /**
     * JSON of the dev server's dynamic config, for both runs. By default activities may be handed to the
     * worker with the workflow task that schedules them (eager dispatch), as a cluster can be set up to, and
     * search attributes are read from the server's cache, as a cluster does: the dev server re-reads them
     * from its database on every read, so that attributes added a moment ago work at once (the bench's
     * are registered when its database is created), and at N = 1,000 that was about 31,000 database reads
     * in the product's run and half as many in the baseline's; and the dev server's one history shard
     * writes 4 operations at a time instead of 1, as a cluster's many shards write side by side (README
     * "What the time goes to", *The dev server's one shard*).
     */
    'server-config': {
      type: 'string',
      default:
        '{"system.enableActivityEagerExecution":true,"system.forceSearchAttributesCacheRefreshOnRead":false,"history.shardIOConcurrency":4}',
    },
    'skip-baseline': { type: 'boolean', default: false },
    /** Keep the run's Temporal database (a failed run always keeps it), to look at its histories afterwards. */
    'keep-db': { type: 'boolean', default: false },
    /** Also onboard the fleet again with this share of the lab's calls failing transiently (0.1 = 10%). */
    faults: { type: 'string', default: '0' },
    readme: { type: 'boolean', default: false },
  },
});

const tuningSchema = z
  .object({
    maxCachedWorkflows: z.number().int().nonnegative(),
    maxConcurrentWorkflowTaskExecutions: z.number().int().positive(),
    maxConcurrentWorkflowTaskPolls: z.number().int().positive(),
    maxConcurrentActivityTaskPolls: z.number().int().positive(),
    nonStickyToStickyPollRatio: z.number().positive(),
    workflowThreadPoolSize: z.number().int().positive(),
    reuseV8Context: z.boolean(),
  })
  .partial()
  .strict() satisfies z.ZodType<WorkerTuning>;

const serverConfigSchema = z.record(z.string().min(1), z.union([z.string(), z.number(), z.boolean()]));

/** A share between 0 and 1 (`--faults 0.1`). */
const rate = (name: string, v: string | undefined): number => {
  const n = Number(v ?? 0);
  if (!(n >= 0 && n < 1))
    throw new Error(`--${name} must be a share of calls from 0 to below 1 (0.1 = 10%), not ${String(v)}`);
  return n;
};

const count = (name: string, v: string | undefined): number => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new Error(`--${name} must be a whole number, not ${String(v)}`);
  return n;
};

interface Measured {
  wallMs: number;
  samples: InFlightSample[];
  worker: { cpuSeconds: number; peakRssMB: number; threads?: { main: number; sdkCore: number; other: number } };
  /** The product's lab process (bench/lab-process.ts); none for the baseline. */
  lab?: { cpuSeconds: number; peakRssMB: number };
  devServer: { cpuSeconds: number; peakRssMB: number } | null;
}

/**
 * Runs `body`, sampling servers in flight and both processes' memory; CPU is the difference over the run.
 * The worker is its own process (bench/worker-process.ts): its figures are the workers' alone; the product's
 * lab, a process of its own beside it, is measured apart.
 */
async function measure(
  serverPid: number | undefined,
  worker: WorkerHost,
  progress: () => string,
  body: () => Promise<void>
): Promise<Measured> {
  const mb = (bytes: number) => bytes / 1024 / 1024;
  const worker0 = readProc(worker.pid);
  const threads0 = readThreads(worker.pid);
  const labPid = worker.stats.labPid;
  const lab0 = labPid ? readProc(labPid) : undefined;
  const server0 = serverPid ? readProc(serverPid) : undefined;
  let peakServer = server0?.rssBytes ?? 0;
  const samples: InFlightSample[] = [];
  const started = performance.now();
  const sample = (): void => {
    samples.push({ atMs: performance.now() - started, count: worker.stats.inFlightServers });
    if (serverPid) peakServer = Math.max(peakServer, readProc(serverPid)?.rssBytes ?? 0);
  };
  sample();
  const sampler = setInterval(sample, SAMPLE_EVERY_MS);
  const reporter = setInterval(
    () => console.log(`  ${((performance.now() - started) / 1000).toFixed(0)}s ${progress()}`),
    10_000
  );
  try {
    await Promise.race([body(), worker.died]);
  } finally {
    clearInterval(sampler);
    clearInterval(reporter);
  }
  const wallMs = performance.now() - started;
  sample();
  // Read while the workers still run: a thread that has ended is gone from /proc with its CPU.
  const worker1 = readProc(worker.pid);
  const threads = threads0.size > 0 ? threadCpu(worker.pid, threads0, readThreads(worker.pid)) : undefined;
  const server1 = serverPid ? readProc(serverPid) : undefined;
  const lab1 = labPid ? readProc(labPid) : undefined;
  return {
    wallMs,
    samples,
    worker: {
      cpuSeconds: worker0 && worker1 ? worker1.cpuSeconds - worker0.cpuSeconds : 0,
      // The process's own high-water mark: its start-up and every moment of the run.
      peakRssMB: mb(worker1?.peakRssBytes ?? 0),
      ...(threads ? { threads } : {}),
    },
    ...(lab0 && lab1
      ? { lab: { cpuSeconds: lab1.cpuSeconds - lab0.cpuSeconds, peakRssMB: mb(lab1.peakRssBytes) } }
      : {}),
    devServer:
      server0 && server1 ? { cpuSeconds: server1.cpuSeconds - server0.cpuSeconds, peakRssMB: mb(peakServer) } : null,
  };
}

/** Every run the visibility query lists, its history fetched a few at a time and taken into `digest`. */
async function digestHistories(
  client: Client,
  query: string,
  keep: (workflowId: string) => boolean,
  digest: HistoryDigest
): Promise<void> {
  const listed: Array<{ workflowId: string; runId: string }> = [];
  for await (const w of client.workflow.list({ query })) {
    if (keep(w.workflowId)) listed.push({ workflowId: w.workflowId, runId: w.runId });
  }
  await mapInLanes(listed, 16, async ({ workflowId, runId }) =>
    digest.add(workflowId, await client.workflow.getHandle(workflowId, runId).fetchHistory())
  );
}

function phaseFigures(m: Measured, fleetRuns: DigestFigures, serverRuns: DigestFigures, servers: number): PhaseFigures {
  return {
    wallSeconds: m.wallMs / 1000,
    serversPerSecond: servers / (m.wallMs / 1000),
    inFlight: inFlightStats(m.samples, m.wallMs),
    historyEventsPerServer: spread(serverRuns.events),
    historyEventsPerFleetRun: fleetRuns.events,
    historyBytesPerServer: spread(serverRuns.bytes),
    historyBytesPerFleetRun: fleetRuns.bytes,
    activities: serverRuns.activities,
    serverTime: serverRuns.time,
    childStartMs: fleetRuns.childStartMs,
    childCloseMs: fleetRuns.childCloseMs,
    bytesPerServerByType: Object.fromEntries(
      Object.entries(serverRuns.bytesByType).map(([k, v]) => [k, v / Math.max(1, serverRuns.runs)])
    ),
    eventsPerServerByType: Object.fromEntries(
      Object.entries(serverRuns.eventsByType).map(([k, v]) => [k, v / Math.max(1, serverRuns.runs)])
    ),
    eventsPerFleetByType: fleetRuns.eventsByType,
    workflowTaskRunMs: { fleet: fleetRuns.workflowTaskRunMs, server: serverRuns.workflowTaskRunMs },
    fleetEndRetries: fleetRuns.endRetries,
    workflowTaskWaitMs: { fleet: fleetRuns.workflowTaskWaitMs, server: serverRuns.workflowTaskWaitMs },
    retries: { activities: serverRuns.retriedActivities, extraAttempts: serverRuns.extraAttempts },
    worker: m.worker,
    ...(m.lab ? { lab: m.lab } : {}),
    devServer: m.devServer,
  };
}

function fleetSpec(name: string, prefix: string, servers: number, maxParallel: number): FleetSpec {
  const result = validateFleet({
    fleet: name,
    serviceAccount: 'CORP\\monosync_svc',
    domain: 'corp.example',
    monosyncServers: ['10.20.30.41', '10.20.30.42'],
    approvers: ['alice', 'bob'],
    approvals: 'unsigned',
    // Retries of a transient failure start after 1 s (default 5 s) and wait at most 5 s (default 2 minutes):
    // the bench's faults are scattered, not an outage, and with --faults the unluckiest server's chain of
    // retries would otherwise set the run's length (1,000 servers: a step failing 6 times in a row, waiting
    // 63 s, is likely); a fault-free run never waits on one. Up to 20 attempts (default 8): with 10 % of calls
    // failing, the listener step's attempt (4 calls) fails 34 % of the time, so among 1,000 servers 8 failures
    // in a row happen in about one run in four and send that server to an operator (the run then stalls);
    // 20 in a row, about once in two billion servers.
    settings: {
      maxParallel,
      maxFailurePercent: 5,
      stepRetry: { initialInterval: '1s', maximumInterval: '5s', maximumAttempts: 20 },
    },
    servers: Array.from({ length: servers }, (_, i) => `${prefix}${String(i + 1).padStart(5, '0')}.corp.example`),
  });
  if (!result.ok) throw new Error(result.problems.join('\n'));
  return result.spec;
}

/** A fleet that makes no script call for this long is stuck (waiting for an approval or an operator). */
const STALL_MS = 180_000;

/**
 * Starts the fleet, approves the manual's risky values once for the whole fleet, and waits for the end.
 * Fails, with the fleet's counts, when no script call was made for STALL_MS, rather than hang.
 */
async function onboard(
  client: Client,
  taskQueue: string,
  spec: FleetSpec,
  callsSoFar: () => number
): Promise<Record<string, number>> {
  const { handle } = await startFleetWorkflow(client, taskQueue, spec, 'bench');
  for (const kind of RISK_KINDS) {
    await handle.executeUpdate(decideKindUpdate, {
      args: [{ kind, servers: 'all', decision: 'approve', approver: 'alice', reason: 'benchmark on the lab' }],
    });
  }
  // No status queries while it runs: each would be a workflow task on the fleet, charged to the product.
  let watchdog: NodeJS.Timeout | undefined;
  const stalled = new Promise<never>((_, reject) => {
    let calls = callsSoFar();
    let lastCallAt = Date.now();
    watchdog = setInterval(() => {
      if (callsSoFar() !== calls) {
        calls = callsSoFar();
        lastCallAt = Date.now();
      } else if (Date.now() - lastCallAt > STALL_MS) {
        clearInterval(watchdog);
        void handle
          .query(fleetStatusQuery)
          .then(
            (s) => `run ${s.run}: ${JSON.stringify(s.counts.byPhase)}; in flight: ${s.inFlight.slice(0, 10).join(', ')}`
          )
          .catch((err: unknown) => `status unavailable: ${String(err)}`)
          .then((counts) =>
            reject(new Error(`fleet ${spec.fleetId}: no script call for ${STALL_MS / 1000} s; ${counts}`))
          );
      }
    }, 5_000);
  });
  // Handled here too, so a stall noticed just as the fleet ends is no unhandled rejection.
  stalled.catch(() => undefined);
  try {
    const final = await Promise.race([handle.result(), stalled]);
    return final.counts.byPhase;
  } finally {
    clearInterval(watchdog);
  }
}

function gitCommit(): string {
  try {
    return execFileSync('git', ['rev-parse', 'HEAD'], { cwd: ROOT, encoding: 'utf8' }).trim();
  } catch {
    return 'unknown';
  }
}

function updateReadme(): void {
  if (!fs.existsSync(LATEST_JSON)) {
    // Nothing to copy is a usage mistake, not a failure of the bench: one line, no stack.
    console.error(`npm run bench -- --readme: no benchmark result yet (${LATEST_JSON}): run npm run bench first`);
    process.exit(2);
  }
  const result = benchResultSchema.parse(JSON.parse(fs.readFileSync(LATEST_JSON, 'utf8')));
  const readmePath = path.join(ROOT, 'README.md');
  fs.writeFileSync(readmePath, withReadmeTable(fs.readFileSync(readmePath, 'utf8'), result));
  console.log(`README.md: benchmark table from ${result.date} (${path.relative(ROOT, LATEST_JSON)})`);
}

async function bench(): Promise<BenchResult> {
  const servers = count('servers', o.servers);
  const maxParallel = count('max-parallel', o['max-parallel']);
  const adBudget = count('ad', o.ad);
  const latencyMs = count('latency', o.latency);
  const maxActivities = o['max-activities'] === undefined ? maxParallel : count('max-activities', o['max-activities']);
  const given = tuningSchema.parse(JSON.parse(o.tuning));
  // The SDK sizes its workflow cache from the heap limit (about 600 workflows per GB above 200 MB), so
  // a capped heap would leave it room for a handful: it holds every server in flight and the fleet instead.
  const tuning = { maxCachedWorkflows: Math.max(2 * maxParallel, 100), ...given };
  const nodeOptions = (o['worker-node-options'] ?? '').split(/\s+/).filter(Boolean);
  const serverConfig = serverConfigSchema.parse(JSON.parse(o['server-config']));
  const loadAverageAtStart = os.loadavg();
  const stamp = Date.now().toString(36);

  const faultRate = rate('faults', o.faults);
  const spec = fleetSpec(`bench-${servers}-${stamp}`, 'bx', servers, maxParallel);
  // One server onboarded first to measure the calls of each step: the baseline's shape.
  const calibration = fleetSpec(`bench-shape-${stamp}`, 'shape', 1, 1);
  // With --faults, the same shape again on servers of their own, after the fault-free run.
  const faultySpec = faultRate > 0 ? fleetSpec(`bench-faults-${servers}-${stamp}`, 'fx', servers, maxParallel) : null;

  const port = await freePort();
  const dbFile = path.join(TEMPORAL_DIR, `bench-${process.pid}.db`);
  let keepDb = true;
  const server = await startDevServer({
    port,
    dbFile,
    log: (l) => console.log(l),
    dynamicConfig: serverConfig,
  });
  const serverPid = findDevServerPid(port);
  if (!serverPid) console.log('could not find the dev server process in /proc: its CPU and memory are not reported');
  const connection = await Connection.connect({ address: server.address });
  const client = new Client({ connection });
  const failures: string[] = [];
  const bundleDir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-bundles-'));
  try {
    console.log('bundling the workflows…');
    // Written to files for the worker processes: bundling is the bench's work, not the worker's.
    // The product's as production workers' is built; the baseline's with the same source map.
    const productBundle = path.join(bundleDir, 'product.js');
    await writeWorkflowBundle(productBundle);
    const baselineBundle = path.join(bundleDir, 'baseline.js');
    const { code: baselineCode } = await bundleWorkflowCode({
      workflowsPath: require.resolve('../bench/baseline/workflows'),
      logger: new DefaultLogger('WARN'),
      webpackConfigHook: (config) => ({ ...config, devtool: WORKFLOW_BUNDLE_DEVTOOL }),
    });
    fs.writeFileSync(baselineBundle, baselineCode);
    const workerConfig = (kind: 'product' | 'baseline', taskQueue: string, fleet?: FleetSpec): WorkerProcessConfig => ({
      kind,
      address: server.address,
      taskQueue,
      maxActivities,
      adConcurrency: adBudget,
      tuning,
      bundlePath: kind === 'product' ? productBundle : baselineBundle,
      nodeOptions,
      ...(fleet ? { latencyMs, estate: fleet } : {}),
    });
    /** A fresh worker process for `body`, stopped after it (a phase's CPU and peak memory are its own). */
    const withWorker = async <T>(config: WorkerProcessConfig, body: (w: WorkerHost) => Promise<T>): Promise<T> => {
      const worker = await WorkerHost.start(config);
      try {
        return await body(worker);
      } finally {
        await worker.stop();
      }
    };

    console.log('measuring the calls of each step on one server…');
    const byScript = await withWorker(workerConfig('product', 'bench', calibration), async (w) => {
      await Promise.race([onboard(client, 'bench', calibration, () => w.stats.calls), w.died]);
      return (await w.stop()).byScript;
    });
    const steps: BaselineStep[] = byScript.map(([name, c]) => ({ name, sleepMs: c.calls * latencyMs, ad: c.ad }));
    console.log(
      `  ${steps.map((s) => `${s.name} ${s.sleepMs / Math.max(1, latencyMs)}${s.ad ? ' (AD)' : ''}`).join(', ')}`
    );

    let baseline: PhaseFigures | null = null;
    if (!o['skip-baseline']) {
      console.log(`baseline: ${servers} servers, ${maxParallel} at a time, bare SDK…`);
      let done = 0;
      const measured = await withWorker(workerConfig('baseline', 'bench-baseline'), (w) =>
        measure(
          serverPid,
          w,
          () => `in flight ${w.stats.inFlightServers}, max ${w.stats.maxInFlightServers}`,
          async () => {
            done = await client.workflow.execute<typeof baselineFleet>('baselineFleet', {
              workflowId: `baseline-fleet/${stamp}`,
              taskQueue: 'bench-baseline',
              args: [{ servers: spec.servers.map((s) => s.fqdn), maxParallel, steps, taskQueue: 'bench-baseline' }],
            });
          }
        )
      );
      console.log(`  done in ${(measured.wallMs / 1000).toFixed(1)} s; reading the histories…`);
      if (done !== servers) failures.push(`baseline: ${done} of ${servers} servers done`);
      const fleetRuns = new HistoryDigest();
      const serverRuns = new HistoryDigest();
      await digestHistories(client, `WorkflowType = "baselineFleet"`, () => true, fleetRuns);
      await digestHistories(client, `WorkflowType = "baselineServer"`, () => true, serverRuns);
      baseline = phaseFigures(measured, fleetRuns.figures(), serverRuns.figures(), servers);
    }

    /**
     * Onboards `fleet` with the product in a worker process of its own and checks what must hold at
     * scale; `label` names the run in failures. `faultRate`: that share of the lab's calls fail transiently.
     */
    const productPhase = async (
      fleet: FleetSpec,
      label: string,
      faultRate = 0
    ): Promise<{ figures: PhaseFigures; lab: WorkerProcessStats }> => {
      console.log(`${label}: ${servers} servers, maxParallel ${maxParallel}…`);
      let byPhase: Record<string, number> = {};
      // Measured from the fleet's start to its result: worker start-up and shutdown are left out, as for the baseline.
      const { measured, lab } = await withWorker(workerConfig('product', 'bench', fleet), async (w) => {
        if (faultRate > 0) w.injectFaults(faultRate);
        const m = await measure(
          serverPid,
          w,
          () =>
            `in flight (lab) ${w.stats.inFlightServers}, max ${w.stats.maxInFlightServers}; AD max ${w.stats.maxAdInFlight}; calls ${w.stats.calls}`,
          async () => {
            byPhase = await onboard(client, 'bench', fleet, () => w.stats.calls);
          }
        );
        return { measured: m, lab: await w.stop() };
      });
      console.log(`  done in ${(measured.wallMs / 1000).toFixed(1)} s; reading the histories…`);
      const fleetRuns = new HistoryDigest();
      const serverRuns = new HistoryDigest();
      // The fleet's runs and, for a large fleet, its batches' (workflows/fleet-batches.ts).
      const fleetWorkflow = (id: string) =>
        id === fleetWorkflowId(fleet.fleetId) || isFleetBatchWorkflowId(id, fleet.fleetId);
      await digestHistories(client, `WorkflowType = "onboardFleet"`, fleetWorkflow, fleetRuns);
      const ours = new Set(fleet.servers.map((s) => serverWorkflowId(s.fqdn)));
      await digestHistories(client, `WorkflowType = "onboardServer"`, (id) => ours.has(id), serverRuns);
      const fleetFigures = fleetRuns.figures();
      const serverFigures = serverRuns.figures();
      const figures = phaseFigures(measured, fleetFigures, serverFigures, servers);

      const fail = (text: string) => failures.push(`${label}: ${text}`);
      for (const problem of [...fleetFigures.problems, ...serverFigures.problems]) fail(problem);
      const onboarded = byPhase.onboarded ?? 0;
      if (onboarded !== servers) fail(`${onboarded} of ${servers} servers onboarded: ${JSON.stringify(byPhase)}`);
      if (lab.maxInFlightServers > maxParallel)
        fail(`servers in flight reached ${lab.maxInFlightServers} > ${maxParallel}`);
      if (lab.maxAdInFlight > adBudget) fail(`AD calls at once reached ${lab.maxAdInFlight} > ${adBudget}`);
      const long = figures.historyEventsPerFleetRun.filter((e) => e > HISTORY_LIMIT);
      if (long.length > 0) fail(`fleet runs over ${HISTORY_LIMIT} events: ${long.join(', ')}`);
      if (fleetFigures.runs === 0) fail('no fleet workflow runs found in visibility');
      return { figures, lab };
    };

    const { figures: product, lab } = await productPhase(spec, 'product');
    const calls = lab.byScript.reduce((sum, [, c]) => sum + c.calls, 0);
    const adCalls = lab.byScript.filter(([, c]) => c.ad).reduce((sum, [, c]) => sum + c.calls, 0);

    // The same fleet shape again with a share of the lab's calls failing transiently (WinRM timing out):
    // every server must still be onboarded, by retries the histories show.
    let faults: BenchResult['faults'] = null;
    if (faultySpec) {
      const percent = `${(faultRate * 100).toFixed(0)}%`;
      const { figures: faulty } = await productPhase(faultySpec, `product with ${percent} faults`, faultRate);
      if (faulty.retries && faulty.retries.activities === 0) {
        failures.push(`faults: no activity was retried, though ${percent} of the calls failed`);
      }
      faults = { rate: faultRate, product: faulty, ratioToFaultFree: ratio(faulty.wallSeconds, product.wallSeconds) };
    }

    const shape = {
      servers,
      maxParallel,
      adBudget,
      latencyMs,
      callsPerServer: calls / servers,
      adCallsPerServer: adCalls / servers,
    };
    const floorMs = remoteCallFloorMs(shape);
    const result: BenchResult = {
      date: new Date().toISOString(),
      commit: gitCommit(),
      machine: { cpus: os.cpus().length, loadAverageAtStart },
      shape,
      baselineSteps: steps,
      tuning: { maxActivities, ...tuning, ...(nodeOptions.length > 0 ? { nodeOptions: nodeOptions.join(' ') } : {}) },
      serverConfig,
      floorSeconds: floorMs / 1000,
      product,
      baseline,
      faults,
      ratios: {
        productToBaseline: baseline ? ratio(product.wallSeconds, baseline.wallSeconds) : null,
        productToFloor: ratio(product.wallSeconds * 1000, floorMs),
        baselineToFloor: baseline ? ratio(baseline.wallSeconds * 1000, floorMs) : null,
      },
      failures,
    };
    keepDb = failures.length > 0 || o['keep-db'];
    return result;
  } finally {
    fs.rmSync(bundleDir, { recursive: true, force: true });
    await connection.close();
    await server.stop();
    // A failed or interrupted run keeps its database for a look with the Temporal CLI; a good one leaves none.
    if (keepDb) console.log(`the run's Temporal database is kept: ${dbFile}`);
    else for (const suffix of ['', '-shm', '-wal']) fs.rmSync(`${dbFile}${suffix}`, { force: true });
  }
}

async function main(): Promise<void> {
  if (o.readme) return updateReadme();
  const result = benchResultSchema.parse(await bench());
  fs.mkdirSync(RESULTS_DIR, { recursive: true });
  const name = `${result.date.replace(/[:.]/g, '-')}-n${result.shape.servers}`;
  const markdown = renderMarkdown(result);
  for (const [file, text] of [
    [`${name}.json`, JSON.stringify(result, null, 2)],
    [`${name}.md`, markdown],
    ['latest.json', JSON.stringify(result, null, 2)],
    ['latest.md', markdown],
  ]) {
    fs.writeFileSync(path.join(RESULTS_DIR, file), `${text}\n`);
  }
  console.log(`\n${figuresTable(result)}\n`);
  if (result.faults) console.log(`${faultsLine(result)}\n`);
  console.log(`written: bench/results/${name}.{json,md} (and latest.*); README table: npm run bench -- --readme`);
  if (result.failures.length > 0) {
    console.error(`\nBENCHMARK CHECKS FAILED:\n  ${result.failures.join('\n  ')}`);
    process.exit(1);
  }
  console.log('\nall checks passed');
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.stack : err);
  process.exit(1);
});
