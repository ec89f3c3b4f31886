/**
 * `npm run bench [-- --servers 1000 --max-parallel 100 --ad 8 --latency 250]`: on one dev server of its
 * own, onboards a lab fleet with the product and runs a bare-SDK baseline of the same shape
 * (bench/baseline/: a parent starting child workflows C at a time, each sleeping through the product's
 * steps, same remote time per server, same worker settings), and compares the two and the remote-call
 * floor. Order: a one-server product run to measure the calls of each step (the baseline's shape),
 * then the baseline, then the product. It checks what must hold at scale:
 *   - servers in flight (as the lab sees them) never above maxParallel,
 *   - calls against the domain controllers never above the AD budget,
 *   - every run of the fleet workflow (continue-as-new chain) below 10,000 history events,
 *   - every server onboarded, and no workflow task failed or timed out (retried silently otherwise).
 * Exits 1 when a check fails. Times are printed and written to bench/results/, never asserted.
 * `npm run bench -- --readme` copies the latest run's table into README.md and runs nothing.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { Client, Connection } from '@temporalio/client';
import type { temporal } from '@temporalio/proto';
import { bundleWorkflowCode, DefaultLogger, NativeConnection, Runtime, Worker } from '@temporalio/worker';
import { InFlightServers, createBaselineActivities } from '../bench/baseline/activities';
import type { BaselineStep } from '../bench/baseline/shape';
import type { baselineFleet } from '../bench/baseline/workflows';
import {
  addCounts,
  eventTypeCounts,
  inFlightStats,
  ratio,
  remoteCallFloorMs,
  spread,
  workflowTaskTimes,
  type InFlightSample,
} from '../bench/figures';
import { findDevServerPid, readProc, readThreads, threadCpu } from '../bench/proc';
import {
  benchResultSchema,
  renderMarkdown,
  figuresTable,
  withReadmeTable,
  type BenchResult,
  type PhaseFigures,
} from '../bench/report';
import { freePort, startDevServer } from '../devserver/dev-server';
import { TEMPORAL_DIR } from '../devserver/temporal-cli';
import { workflowTaskProblems } from '../lib/workflow-task-problems';
import { validateFleet, type FleetSpec } from '../domain/fleet';
import { fleetWorkflowId, serverWorkflowId } from '../domain/ids';
import { RISK_KINDS } from '../domain/steps';
import { LabRunner } from '../lab/lab-runner';
import { largeFleetEstate } from '../lab/scenarios';
import type { PowerShellRunner } from '../runner/port';
import { decideKindUpdate, fleetStatusQuery } from '../workflows/messages';
import { adWorkerSettings, createAdWorker, createMainWorker, mainWorkerSettings } from '../workers/create-workers';
import type { WorkerTuning, WorkerWiring } from '../workers/create-workers';
import { startFleetWorkflow } from '../client/fleet-handles';

Runtime.install({ logger: new DefaultLogger('WARN') });

const ROOT = path.resolve(__dirname, '..');
const RESULTS_DIR = path.join(ROOT, 'bench', 'results');
const LATEST_JSON = path.join(RESULTS_DIR, 'latest.json');
const HISTORY_LIMIT = 10_000;
const SAMPLE_EVERY_MS = 100;

const { values: o } = parseArgs({
  options: {
    servers: { type: 'string', default: '1000' },
    'max-parallel': { type: 'string', default: '100' },
    ad: { type: 'string', default: '8' },
    latency: { type: 'string', default: '250' },
    /** The main worker's activity slots; by default maxParallel, so the worker is never the cap. */
    'max-activities': { type: 'string' },
    /** JSON of worker knobs (WorkerTuning in workers/create-workers.ts), applied to product and baseline. */
    tuning: { type: 'string', default: '{}' },
    /** JSON of the dev server's dynamic config (`{"system.enableActivityEagerExecution": false}`), for both runs. */
    'server-config': { type: 'string', default: '{}' },
    'skip-baseline': { type: 'boolean', default: false },
    /** Keep the run's Temporal database (a failed run always keeps it), to look at its histories afterwards. */
    'keep-db': { type: 'boolean', default: false },
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

const count = (name: string, v: string | undefined): number => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new Error(`--${name} must be a whole number, not ${String(v)}`);
  return n;
};

type History = temporal.api.history.v1.IHistory;

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
  reset(): void {
    this.byScript = new Map();
  }
  get total(): { calls: number; adCalls: number } {
    const all = [...this.byScript.values()];
    return {
      calls: all.reduce((s, c) => s + c.calls, 0),
      adCalls: all.filter((c) => c.ad).reduce((s, c) => s + c.calls, 0),
    };
  }
}

interface Measured {
  wallMs: number;
  samples: InFlightSample[];
  worker: { cpuSeconds: number; peakRssMB: number; threads?: { main: number; sdkCore: number; other: number } };
  devServer: { cpuSeconds: number; peakRssMB: number } | null;
}

/** Runs `body`, sampling servers in flight and both processes' memory; CPU is the difference over the run. */
async function measure(
  serverPid: number | undefined,
  inFlight: () => number,
  progress: () => string,
  body: () => Promise<void>
): Promise<Measured> {
  const mb = (bytes: number) => bytes / 1024 / 1024;
  const cpu0 = process.cpuUsage();
  const threads0 = readThreads(process.pid);
  const server0 = serverPid ? readProc(serverPid) : undefined;
  let peakSelf = process.memoryUsage.rss();
  let peakServer = server0?.rssBytes ?? 0;
  const samples: InFlightSample[] = [];
  const started = performance.now();
  const sample = (): void => {
    samples.push({ atMs: performance.now() - started, count: inFlight() });
    peakSelf = Math.max(peakSelf, process.memoryUsage.rss());
    if (serverPid) peakServer = Math.max(peakServer, readProc(serverPid)?.rssBytes ?? 0);
  };
  sample();
  const sampler = setInterval(sample, SAMPLE_EVERY_MS);
  const reporter = setInterval(
    () => console.log(`  ${((performance.now() - started) / 1000).toFixed(0)}s ${progress()}`),
    10_000
  );
  try {
    await body();
  } finally {
    clearInterval(sampler);
    clearInterval(reporter);
  }
  const wallMs = performance.now() - started;
  sample();
  const cpu = process.cpuUsage(cpu0);
  // Read while the workers still run: a thread that has ended is gone from /proc with its CPU.
  const threads = threads0.size > 0 ? threadCpu(process.pid, threads0, readThreads(process.pid)) : undefined;
  const server1 = serverPid ? readProc(serverPid) : undefined;
  return {
    wallMs,
    samples,
    worker: { cpuSeconds: (cpu.user + cpu.system) / 1e6, peakRssMB: mb(peakSelf), ...(threads ? { threads } : {}) },
    devServer:
      server0 && server1 ? { cpuSeconds: server1.cpuSeconds - server0.cpuSeconds, peakRssMB: mb(peakServer) } : null,
  };
}

/** Runs the workers for the length of `body`, then shuts them down and waits for them to stop. */
async function withWorkers(workers: Worker[], body: () => Promise<void>): Promise<void> {
  const running = workers.map((w) => w.run());
  try {
    await body();
  } finally {
    for (const w of workers) w.shutdown();
    await Promise.all(running);
  }
}

interface Run {
  workflowId: string;
  history: History;
}

/** Histories of every run the visibility query lists, fetched a few at a time. */
async function histories(client: Client, query: string, keep: (workflowId: string) => boolean): Promise<Run[]> {
  const listed: Array<{ workflowId: string; runId: string }> = [];
  for await (const w of client.workflow.list({ query })) {
    if (keep(w.workflowId)) listed.push({ workflowId: w.workflowId, runId: w.runId });
  }
  const out: Run[] = [];
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < listed.length) {
      const { workflowId, runId } = listed[next++];
      out.push({ workflowId, history: await client.workflow.getHandle(workflowId, runId).fetchHistory() });
    }
  };
  await Promise.all(Array.from({ length: 16 }, lane));
  return out;
}

function phaseFigures(m: Measured, fleetRuns: Run[], serverRuns: Run[], servers: number): PhaseFigures {
  const times = (runs: Run[]) => {
    const all = runs.map((r) => workflowTaskTimes(r.history));
    return { run: spread(all.flatMap((t) => t.runMs)), wait: spread(all.flatMap((t) => t.waitMs)) };
  };
  const fleetTimes = times(fleetRuns);
  const serverTimes = times(serverRuns);
  const perServer = serverRuns.reduce<Record<string, number>>(
    (acc, r) => addCounts(acc, eventTypeCounts(r.history)),
    {}
  );
  const fleetCounts = fleetRuns.reduce<Record<string, number>>(
    (acc, r) => addCounts(acc, eventTypeCounts(r.history)),
    {}
  );
  return {
    wallSeconds: m.wallMs / 1000,
    serversPerSecond: servers / (m.wallMs / 1000),
    inFlight: inFlightStats(m.samples, m.wallMs),
    historyEventsPerServer: spread(serverRuns.map((r) => r.history.events?.length ?? 0)),
    historyEventsPerFleetRun: fleetRuns.map((r) => r.history.events?.length ?? 0),
    eventsPerServerByType: Object.fromEntries(
      Object.entries(perServer).map(([k, v]) => [k, v / Math.max(1, serverRuns.length)])
    ),
    eventsPerFleetByType: fleetCounts,
    workflowTaskRunMs: { fleet: fleetTimes.run, server: serverTimes.run },
    workflowTaskWaitMs: { fleet: fleetTimes.wait, server: serverTimes.wait },
    worker: m.worker,
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
    settings: { maxParallel, maxFailurePercent: 5 },
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
  if (!fs.existsSync(LATEST_JSON)) throw new Error(`no benchmark result yet (${LATEST_JSON}): run npm run bench first`);
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
  const tuning = tuningSchema.parse(JSON.parse(o.tuning));
  const serverConfig = serverConfigSchema.parse(JSON.parse(o['server-config']));
  const loadAverageAtStart = os.loadavg();
  const stamp = Date.now().toString(36);

  const spec = fleetSpec(`bench-${servers}-${stamp}`, 'bx', servers, maxParallel);
  // One server onboarded first to measure the calls of each step: the baseline's shape.
  const calibration = fleetSpec(`bench-shape-${stamp}`, 'shape', 1, 1);

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
  const lab = new LabRunner(largeFleetEstate({ ...spec, servers: [...spec.servers, ...calibration.servers] }), {
    latencyMs,
  });
  const counting = new CountingRunner(lab);
  const native = await NativeConnection.connect({ address: server.address });
  const connection = await Connection.connect({ address: server.address });
  const client = new Client({ connection });
  const failures: string[] = [];
  const wiring = (taskQueue: string): Omit<WorkerWiring, 'runner'> => ({
    connection: native,
    namespace: 'default',
    taskQueue,
    maxActivities,
    adConcurrency: adBudget,
    tuning,
  });
  try {
    console.log('bundling the workflows…');
    const productBundle = await bundleWorkflowCode({
      workflowsPath: require.resolve('../workflows'),
      logger: new DefaultLogger('WARN'),
    });
    const baselineBundle = await bundleWorkflowCode({
      workflowsPath: require.resolve('../bench/baseline/workflows'),
      logger: new DefaultLogger('WARN'),
    });
    const productWorkers = async (): Promise<Worker[]> => {
      const w = { ...wiring('bench'), runner: counting, workflowBundle: productBundle };
      return [await createMainWorker(w), await createAdWorker(w)];
    };

    console.log('measuring the calls of each step on one server…');
    await withWorkers(await productWorkers(), async () => {
      await onboard(client, 'bench', calibration, () => counting.total.calls);
    });
    const steps: BaselineStep[] = [...counting.byScript].map(([name, c]) => ({
      name,
      sleepMs: c.calls * latencyMs,
      ad: c.ad,
    }));
    console.log(
      `  ${steps.map((s) => `${s.name} ${s.sleepMs / Math.max(1, latencyMs)}${s.ad ? ' (AD)' : ''}`).join(', ')}`
    );

    let baseline: PhaseFigures | null = null;
    if (!o['skip-baseline']) {
      console.log(`baseline: ${servers} servers, ${maxParallel} at a time, bare SDK…`);
      const inFlight = new InFlightServers();
      const activities = createBaselineActivities(inFlight);
      const settings = wiring('bench-baseline');
      const workers = [
        await Worker.create({ ...mainWorkerSettings(settings), workflowBundle: baselineBundle, activities }),
        await Worker.create({ ...adWorkerSettings(settings), activities }),
      ];
      let done = 0;
      let measured: Measured | undefined;
      await withWorkers(workers, async () => {
        measured = await measure(
          serverPid,
          () => inFlight.count,
          () => `in flight ${inFlight.count}, max ${inFlight.max}`,
          async () => {
            done = await client.workflow.execute<typeof baselineFleet>('baselineFleet', {
              workflowId: `baseline-fleet/${stamp}`,
              taskQueue: 'bench-baseline',
              args: [{ servers: spec.servers.map((s) => s.fqdn), maxParallel, steps, taskQueue: 'bench-baseline' }],
            });
          }
        );
      });
      if (!measured) throw new Error('unreachable: the baseline ran without a measurement');
      console.log(`  done in ${(measured.wallMs / 1000).toFixed(1)} s; reading the histories…`);
      if (done !== servers) failures.push(`baseline: ${done} of ${servers} servers done`);
      const fleetRuns = await histories(client, `WorkflowType = "baselineFleet"`, () => true);
      const serverRuns = await histories(client, `WorkflowType = "baselineServer"`, () => true);
      baseline = phaseFigures(measured, fleetRuns, serverRuns, servers);
      console.log(`  ${baseline.wallSeconds.toFixed(1)} s`);
    }

    console.log(`product: ${servers} servers, maxParallel ${maxParallel}…`);
    counting.reset();
    let byPhase: Record<string, number> = {};
    let measured: Measured | undefined;
    // Measured from the fleet's start to its result: worker start-up and shutdown are left out, as for the baseline.
    await withWorkers(await productWorkers(), async () => {
      measured = await measure(
        serverPid,
        () => lab.stats.inFlightServers,
        () =>
          `in flight (lab) ${lab.stats.inFlightServers}, max ${lab.stats.maxInFlightServers}; AD max ${lab.stats.maxAdInFlight}; calls ${counting.total.calls}`,
        async () => {
          byPhase = await onboard(client, 'bench', spec, () => counting.total.calls);
        }
      );
    });
    if (!measured) throw new Error('unreachable: the product ran without a measurement');
    console.log(`  done in ${(measured.wallMs / 1000).toFixed(1)} s; reading the histories…`);
    const fleetRuns = await histories(client, `WorkflowId = "${fleetWorkflowId(spec.fleetId)}"`, () => true);
    const ours = new Set(spec.servers.map((s) => serverWorkflowId(s.fqdn)));
    const serverRuns = await histories(client, `WorkflowType = "onboardServer"`, (id) => ours.has(id));
    const product = phaseFigures(measured, fleetRuns, serverRuns, servers);

    for (const run of [...fleetRuns, ...serverRuns]) {
      const problems = workflowTaskProblems(run.history);
      if (problems.length > 0) failures.push(`${run.workflowId}: ${problems.join('; ')}`);
    }
    const onboarded = byPhase.onboarded ?? 0;
    if (onboarded !== servers)
      failures.push(`${onboarded} of ${servers} servers onboarded: ${JSON.stringify(byPhase)}`);
    if (lab.stats.maxInFlightServers > maxParallel)
      failures.push(`servers in flight reached ${lab.stats.maxInFlightServers} > ${maxParallel}`);
    if (lab.stats.maxAdInFlight > adBudget)
      failures.push(`AD calls at once reached ${lab.stats.maxAdInFlight} > ${adBudget}`);
    const long = product.historyEventsPerFleetRun.filter((e) => e >= HISTORY_LIMIT);
    if (long.length > 0) failures.push(`fleet runs with ${HISTORY_LIMIT}+ events: ${long.join(', ')}`);
    if (fleetRuns.length === 0) failures.push('no fleet workflow runs found in visibility');

    const { calls, adCalls } = counting.total;
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
      tuning: { maxActivities, ...tuning },
      floorSeconds: floorMs / 1000,
      product,
      baseline,
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
    await lab.close();
    await connection.close();
    await native.close();
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
