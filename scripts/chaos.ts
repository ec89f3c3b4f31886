/**
 * `npm run chaos`: a 100-server lab fleet onboarded twice with the same seed, by the real worker
 * entry points (`workers/main.ts`, `workers/ad.ts`) as separate processes sharing FLEET_LAB_STATE:
 * first undisturbed, then while the main worker is SIGKILLed (and restarted) at random moments,
 * the AD worker too, and the dev server is stopped and started again on the same database. Then it
 * checks that every server ends as in the undisturbed run, that no change was applied twice (the
 * lab's applications per host and step), and that no workflow task failed (histories), and prints
 * the disturbed/undisturbed time ratio. Exits 1 when a check fails.
 *
 * Options: --servers N (100), --main-workers N (2: each kill hits one of them, as production runs more
 * than one), --main-kills N (12), --ad-kills N (3), --seed N (1), --no-server-restart.
 * The harness is exported for test/chaos.test.ts, which runs a small version on the suite's server.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { WorkflowFailedError, type Client, type WorkflowHandle } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { startFleetWorkflow } from '../client/fleet-handles';
import { readEnv } from '../config/environment';
import { connectClient, devServerTarget } from '../config/temporal-client';
import { freePort, startDevServer, type DevServer } from '../devserver/dev-server';
import { PROJECT_ROOT, TEMPORAL_DIR } from '../devserver/temporal-cli';
import { validateFleet, type FleetSpec } from '../domain/fleet';
import { fleetBatchWorkflowId, fleetWorkflowId, serverWorkflowId } from '../domain/ids';
import { planBatches } from '../domain/batches';
import type { FleetStatus } from '../domain/status';
import { LabEstate } from '../lab/estate';
import type { LabState } from '../lab/model';
import { nextRandom } from '../lab/rng';
import { decideKindUpdate } from '../workflows/messages';
import { writeWorkflowBundle } from '../workers/workflow-bundle';

/** The risky change every chaos server makes (delegation, on the AD worker), approved once for all. */
const DELEGATION_KIND = 'unconstrained-delegation';

/** A lab fleet whose servers all run every step, the AD one included. */
export function chaosFleet(fleetId: string, servers: number, prefix: string): FleetSpec {
  const result = validateFleet({
    fleet: fleetId,
    serviceAccount: 'CORP\\monosync_svc',
    domain: 'corp.example',
    monosyncServers: ['10.20.30.41', '10.20.30.42'],
    approvers: ['alice', 'bob'],
    // A lab: decisions are not signed (the chaos is about processes, not about who approves).
    approvals: 'unsigned',
    policy: {
      delegation: 'unconstrained',
      cbtHardeningLevel: 'Relaxed',
      trustedHosts: { applyOn: 'monosync', value: 'this-server' },
    },
    settings: { stepRetry: { initialInterval: '200ms', maximumAttempts: 5 }, maxParallel: Math.min(servers, 25) },
    servers: Array.from({ length: servers }, (_, i) => `${prefix}${String(i + 1).padStart(3, '0')}.corp.example`),
  });
  if (!result.ok) throw new Error(`chaos fleet is invalid: ${result.problems.join('; ')}`);
  return result.spec;
}

/** The lab estate the fleet's servers live in (its domain, service account and Monosync servers). */
export function chaosEstate(spec: FleetSpec, seed: number): LabEstate {
  return LabEstate.create({
    seed,
    settings: { domain: 'corp.example', serviceAccount: spec.serviceAccount, monosyncServers: spec.monosyncServers },
  });
}

export function newLabFile(dir: string, spec: FleetSpec, seed: number): string {
  const file = path.join(dir, 'lab-state.json');
  chaosEstate(spec, seed).save(file);
  return file;
}

/** One worker process (the product's own entry point) and what it printed. */
export class WorkerProcess {
  readonly child: ChildProcess;
  output = '';
  /** Resolves once the worker polls its task queue (it prints so after bundling its workflows). */
  readonly ready: Promise<void>;
  readonly exited: Promise<void>;

  constructor(
    readonly kind: 'main' | 'ad',
    env: NodeJS.ProcessEnv
  ) {
    const entry = path.join(PROJECT_ROOT, 'workers', kind === 'main' ? 'main.ts' : 'ad.ts');
    this.child = spawn(process.execPath, ['--import', 'tsx', entry], {
      cwd: PROJECT_ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, ...env },
    });
    const child = this.child;
    // If this process ends without stopping it (a test runner killing a file), take the worker along.
    const killOnExit = (): void => void child.kill('SIGKILL');
    process.once('exit', killOnExit);
    this.exited = new Promise((resolve) =>
      child.once('exit', () => {
        process.removeListener('exit', killOnExit);
        resolve();
      })
    );
    this.ready = new Promise((resolve, reject) => {
      const seen = (d: Buffer): void => {
        this.output += d.toString();
        if (/worker polling/.test(this.output)) resolve();
      };
      child.stdout?.on('data', seen);
      child.stderr?.on('data', (d: Buffer) => (this.output += d.toString()));
      void this.exited.then(() => reject(new Error(`${kind} worker exited before polling:\n${this.output}`)));
    });
    this.ready.catch(() => undefined);
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  async kill(signal: NodeJS.Signals): Promise<void> {
    if (this.running) this.child.kill(signal);
    await this.exited;
  }
}

/**
 * Keeps `replicas` workers of a kind running, as a service manager would: `kill()` SIGKILLs one of them
 * and starts a new one in its place at once, and a worker that dies by itself (its server gone too
 * long) is started again too. With two or more, the others go on working while one restarts, as
 * production runs them.
 */
export class Supervised {
  /** The running process of each replica. */
  private readonly slots: WorkerProcess[] = [];
  /** The process started last. */
  current!: WorkerProcess;
  kills = 0;
  restarts = 0;
  /** Per kill: milliseconds from the SIGKILL until its successor polled. */
  readonly downtimesMs: number[] = [];
  private stopped = false;
  /** What every worker of this kind printed, for a failure's report. */
  log = '';

  constructor(
    readonly kind: 'main' | 'ad',
    private readonly env: NodeJS.ProcessEnv,
    replicas = 1
  ) {
    for (let slot = 0; slot < replicas; slot++) this.start(slot);
  }

  /** Resolves once every replica polls. */
  get ready(): Promise<void> {
    return Promise.all(this.slots.map((w) => w.ready)).then(() => undefined);
  }

  private start(slot: number): void {
    const worker = new WorkerProcess(this.kind, this.env);
    this.slots[slot] = worker;
    this.current = worker;
    void worker.exited.then(async () => {
      this.log += worker.output;
      // One that gave up by itself (its server down) gets a pause, so an outage is no restart storm.
      if (worker.child.signalCode !== 'SIGKILL') await new Promise((r) => setTimeout(r, 1_000));
      if (!this.stopped && this.slots[slot] === worker) {
        this.restarts += 1;
        this.start(slot);
      }
    });
  }

  /** SIGKILLs the replica `pick` names (any number: it wraps) and waits until its successor is started. */
  async kill(pick = 0): Promise<void> {
    const slot = pick % this.slots.length;
    const victim = this.slots[slot];
    if (!victim.running) return;
    this.kills += 1;
    const killedAt = Date.now();
    // The exit handler above starts the next one.
    await victim.kill('SIGKILL');
    while (this.slots[slot] === victim) await new Promise((r) => setTimeout(r, 20));
    void this.slots[slot].ready.then(
      () => this.downtimesMs.push(Date.now() - killedAt),
      () => undefined
    );
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.all(this.slots.map((w) => w.kill('SIGINT')));
  }
}

/**
 * Lab calls made so far, per script, from the shared file (read without the lock: it is replaced
 * atomically). Parsed, not loaded as an estate: the progress sampler reads it twice a second.
 */
export function labCalls(file: string): { total: number; ad: number } {
  return callsOfState(JSON.parse(fs.readFileSync(file, 'utf8')) as LabState);
}

export function callsOf(estate: LabEstate): { total: number; ad: number } {
  return callsOfState(estate.toJSON());
}

function callsOfState(state: LabState): { total: number; ad: number } {
  let total = 0;
  let ad = 0;
  for (const scripts of Object.values(state.counters)) {
    for (const [script, counter] of Object.entries(scripts)) {
      total += counter?.calls ?? 0;
      if (script === 'Enable-KerberosDelegation') ad += counter?.calls ?? 0;
    }
  }
  return { total, ad };
}

/**
 * The lab's progress, sampled from the shared file every `everyMs` in every run, the undisturbed one
 * too, so both pay the same for watching (each read parses the whole estate). Everything that waits
 * for a number of lab calls (the kills, the outage) reads this sample instead of the file.
 */
export class LabProgress {
  private counts: { total: number; ad: number } = { total: 0, ad: 0 };
  private readonly timer: NodeJS.Timeout;
  private readonly started = Date.now();
  /** Total lab calls at every `everyMs`, from the start: how the run went, for the log. */
  readonly timeline: number[] = [];

  constructor(
    private readonly file: string,
    readonly everyMs = 500
  ) {
    this.sample();
    this.timer = setInterval(() => this.sample(), everyMs);
  }

  private sample(): void {
    try {
      this.counts = labCalls(this.file);
    } catch {
      // Not there yet: keep the last sample.
    }
    this.timeline.push(this.counts.total);
  }

  get calls(): { total: number; ad: number } {
    return this.counts;
  }

  /** Seconds since the sampler started. */
  elapsed(): string {
    return `${((Date.now() - this.started) / 1000).toFixed(1)} s`;
  }

  /** Lab calls made in each `windowMs`, e.g. `0 85 146 …` (a 0 is a stall). */
  rates(windowMs: number): string {
    const step = Math.max(1, Math.round(windowMs / this.everyMs));
    const out: number[] = [];
    for (let i = step; i < this.timeline.length + step; i += step) {
      const end = this.timeline[Math.min(i, this.timeline.length - 1)];
      out.push(end - (this.timeline[i - step] ?? 0));
    }
    return out.join(' ');
  }

  stop(): void {
    clearInterval(this.timer);
  }
}

/** What an undisturbed run and a disturbed one must agree on, per server in fleet order. */
export interface ServerOutcome {
  phase: string;
  /** Step script → how many times the lab applied its change on this server. */
  applied: Record<string, number>;
}

export function outcomes(spec: FleetSpec, fleet: FleetStatus, estate: LabEstate): ServerOutcome[] {
  const applications = estate.applications();
  return spec.servers.map(({ fqdn }) => ({
    phase: fleet.servers[fqdn] ?? 'missing',
    applied: Object.fromEntries(Object.entries(applications[fqdn] ?? {}).sort(([a], [b]) => a.localeCompare(b))),
  }));
}

/** Changes the lab applied more than once: `host script ×n`. */
export function appliedTwice(estate: LabEstate): string[] {
  return Object.entries(estate.applications()).flatMap(([fqdn, scripts]) =>
    Object.entries(scripts)
      .filter(([, n]) => (n ?? 0) > 1)
      .map(([script, n]) => `${fqdn} ${script} ×${n}`)
  );
}

/** What the histories of the fleet and its servers say about the run. */
export interface HistoryFindings {
  /** Workflow tasks that failed: `workflowId: cause`. */
  failedTasks: string[];
  /** Workflow tasks that timed out: started by a worker that died (start-to-close), or left on a dead worker's sticky queue (schedule-to-start). */
  timedOutTasks: { startToClose: number; scheduleToStart: number };
  /** Activity attempts retried after their heartbeat timeout (their worker died). */
  heartbeatTimeouts: number;
}

export async function historyFindings(client: Client, spec: FleetSpec): Promise<HistoryFindings> {
  const { EventType, TimeoutType } = temporal.api.enums.v1;
  // A large fleet's batches too (workflows/fleet-batches.ts).
  const { batches } = planBatches(spec.servers.length, spec.settings.maxParallel, spec.settings.batchSize);
  const ids = [
    fleetWorkflowId(spec.fleetId),
    ...batches.map((b) => fleetBatchWorkflowId(spec.fleetId, b.index)),
    ...spec.servers.map((s) => serverWorkflowId(s.fqdn)),
  ];
  const found: HistoryFindings = {
    failedTasks: [],
    timedOutTasks: { startToClose: 0, scheduleToStart: 0 },
    heartbeatTimeouts: 0,
  };
  for (const id of ids) {
    const history = await client.workflow.getHandle(id).fetchHistory();
    for (const event of history.events ?? []) {
      if (event.eventType === EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED) {
        const attrs = event.workflowTaskFailedEventAttributes;
        found.failedTasks.push(`${id}: ${String(attrs?.cause)} ${attrs?.failure?.message ?? ''}`);
      }
      if (event.eventType === EventType.EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT) {
        const type = event.workflowTaskTimedOutEventAttributes?.timeoutType;
        if (type === TimeoutType.TIMEOUT_TYPE_SCHEDULE_TO_START) found.timedOutTasks.scheduleToStart += 1;
        else found.timedOutTasks.startToClose += 1;
      }
      const retried = event.activityTaskStartedEventAttributes?.lastFailure?.timeoutFailureInfo?.timeoutType;
      if (retried === TimeoutType.TIMEOUT_TYPE_HEARTBEAT) found.heartbeatTimeouts += 1;
    }
  }
  return found;
}

/** Workflow tasks that failed in the histories of the fleet and its servers: `workflowId: cause`. */
export async function failedWorkflowTasks(client: Client, spec: FleetSpec): Promise<string[]> {
  return (await historyFindings(client, spec)).failedTasks;
}

/** The fleet's result, riding out a server that is down for a while (the client reconnects). */
export async function fleetResult(handle: WorkflowHandle, deadlineMs: number): Promise<FleetStatus> {
  const deadline = Date.now() + deadlineMs;
  for (;;) {
    try {
      return (await handle.result()) as FleetStatus;
    } catch (err) {
      // The fleet itself failed: no point in waiting. Anything else is the connection.
      if (err instanceof WorkflowFailedError || Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 1_000));
    }
  }
}

/** Starts the fleet and approves the delegation change for all its servers, as an approver would. */
export async function startChaosFleet(client: Client, taskQueue: string, spec: FleetSpec): Promise<WorkflowHandle> {
  const { handle } = await startFleetWorkflow(client, taskQueue, spec, 'carol');
  await handle.executeUpdate(decideKindUpdate, {
    args: [{ kind: DELEGATION_KIND, servers: 'all', decision: 'approve', approver: 'bob', reason: 'CAB-CHAOS' }],
  });
  return handle;
}

interface RunOptions {
  address: string;
  taskQueue: string;
  spec: FleetSpec;
  labFile: string;
  /** FLEET_WORKFLOW_BUNDLE for the workers: a restarted main worker then polls without bundling first. */
  workflowBundle?: string;
  /** Main worker processes on the task queue (1 unless said). */
  mainWorkers?: number;
  /** Called once both workers poll and the fleet has started; resolves when its disturbances are done. */
  disturb?: (run: { main: Supervised; ad: Supervised; progress: LabProgress }) => Promise<void>;
  deadlineMs: number;
}

export interface RunResult {
  ms: number;
  fleet: FleetStatus;
  estate: LabEstate;
  mainKills: number;
  adKills: number;
  /** Per kill of each kind: milliseconds from the SIGKILL until the restarted worker polled. */
  mainDowntimesMs: number[];
  adDowntimesMs: number[];
  /** Lab calls made in each 10 s of the run (a 0 is a stall). */
  callsPer10s: string;
  /** What the histories say (`historyFindings`), filled in by the caller. */
  findings?: HistoryFindings;
}

/** One fleet, start to finish, with separate main and AD worker processes sharing the lab file. */
export async function runFleet(client: Client, options: RunOptions): Promise<RunResult> {
  const env = {
    TEMPORAL_ADDRESS: options.address,
    TEMPORAL_TASK_QUEUE: options.taskQueue,
    FLEET_RUNNER: 'lab',
    FLEET_LAB_STATE: options.labFile,
    ...(options.workflowBundle ? { FLEET_WORKFLOW_BUNDLE: options.workflowBundle } : {}),
  };
  const main = new Supervised('main', env, options.mainWorkers ?? 1);
  const ad = new Supervised('ad', env);
  let progress: LabProgress | undefined;
  try {
    await Promise.all([main.ready, ad.ready]);
    const started = Date.now();
    progress = new LabProgress(options.labFile);
    const handle = await startChaosFleet(client, options.taskQueue, options.spec);
    const disturbed = options.disturb?.({ main, ad, progress });
    const fleet = await fleetResult(handle, options.deadlineMs);
    const ms = Date.now() - started;
    await disturbed;
    return {
      ms,
      fleet,
      estate: LabEstate.load(options.labFile),
      mainKills: main.kills,
      adKills: ad.kills,
      mainDowntimesMs: main.downtimesMs,
      adDowntimesMs: ad.downtimesMs,
      callsPer10s: progress.rates(10_000),
    };
  } catch (err) {
    throw new Error(
      `${(err as Error).message}\nmain worker:\n${main.log.slice(-4000)}\nAD worker:\n${ad.log.slice(-2000)}`,
      {
        cause: err,
      }
    );
  } finally {
    progress?.stop();
    await Promise.all([main.stop(), ad.stop()]);
  }
}

/**
 * SIGKILLs at random moments: each after the lab has made a random share of the calls an undisturbed
 * run makes, and never before the previous worker polls again (a kill of a worker still starting tests
 * nothing). Returns when all are done.
 */
export async function killAtRandomMoments(options: {
  worker: Supervised;
  kills: number;
  progress: LabProgress;
  /** Calls the lab makes in a whole undisturbed run (of the kind counted by `count`). */
  expectedCalls: number;
  count: (calls: { total: number; ad: number }) => number;
  random: () => number;
  /** True once the fleet has finished: no kill after that. */
  finished: () => boolean;
  /** Told of each kill: the lab calls made when it happened. */
  onKill?: (calls: number) => void;
}): Promise<void> {
  const points = Array.from({ length: options.kills }, () =>
    Math.floor(options.random() * 0.85 * options.expectedCalls)
  )
    .map((p) => Math.max(1, p))
    .sort((a, b) => a - b);
  for (const point of points) {
    for (;;) {
      if (options.finished()) return;
      if (options.count(options.progress.calls) >= point) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    await options.worker.ready.catch(() => undefined);
    if (options.finished()) return;
    await options.worker.kill(Math.floor(options.random() * 1_000));
    options.onKill?.(options.count(options.progress.calls));
  }
}

function argValue(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  if (i < 0) return fallback;
  const n = Number(process.argv[i + 1]);
  if (!Number.isInteger(n) || n < 0) {
    console.error(`--${name} takes a whole number`);
    process.exit(2);
  }
  return n;
}

async function chaos(): Promise<boolean> {
  const servers = argValue('servers', 100);
  const mainKills = argValue('main-kills', 12);
  const adKills = argValue('ad-kills', 3);
  const mainWorkers = Math.max(1, argValue('main-workers', 2));
  const seed = argValue('seed', 1);
  const restartServer = !process.argv.includes('--no-server-restart');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fleet-chaos-'));
  const log = (line: string): void => console.log(`[chaos] ${line}`);
  // Built once for both runs: each (re)started main worker loads it instead of bundling for seconds.
  const workflowBundle = path.join(dir, 'workflow-bundle.js');
  await writeWorkflowBundle(workflowBundle);

  // Each run gets its own server and database, so both onboard the very same servers.
  const run = async (name: string, disturbed: boolean, expected?: RunResult): Promise<RunResult> => {
    const port = await freePort();
    const dbFile = path.join(TEMPORAL_DIR, `chaos-${name}-${process.pid}.db`);
    let server: DevServer = await startDevServer({ port, dbFile });
    // The codec the environment configures, as the worker processes it starts load it too.
    const temporalClient = await connectClient(
      devServerTarget(readEnv(), { address: server.address, namespace: 'default' })
    );
    const { client } = temporalClient;
    const spec = chaosFleet(`chaos-${seed}`, servers, 'chaos');
    const labFile = newLabFile(path.join(dir, name), spec, seed);
    try {
      let finished = false;
      const random = seededRandom(seed);
      log(`${name} run: ${servers} servers, ${mainWorkers} main worker process(es) and one AD worker`);
      const result = await runFleet(client, {
        address: server.address,
        taskQueue: 'chaos',
        spec,
        labFile,
        workflowBundle,
        mainWorkers,
        deadlineMs: 60 * 60_000,
        disturb:
          disturbed && expected
            ? async ({ main, ad, progress }) => {
                const at = (): string => progress.elapsed();
                const calls = callsOf(expected.estate);
                const done = (): boolean => finished;
                const outage = async (): Promise<void> => {
                  if (!restartServer) return;
                  await waitUntil(() => progress.calls.total >= calls.total / 2 || finished);
                  if (finished) return;
                  log(`${at()}: stopping the dev server`);
                  await server.stop();
                  await new Promise((r) => setTimeout(r, 5_000));
                  server = await startDevServer({ port, dbFile });
                  log(`${at()}: dev server started again on the same database`);
                };
                await Promise.all([
                  killAtRandomMoments({
                    worker: main,
                    kills: mainKills,
                    progress,
                    expectedCalls: calls.total,
                    count: (c) => c.total,
                    random,
                    finished: done,
                    onKill: (n) => log(`${at()}: SIGKILL main worker #${main.kills} after ${n} lab calls`),
                  }),
                  killAtRandomMoments({
                    worker: ad,
                    kills: adKills,
                    progress,
                    expectedCalls: calls.ad,
                    count: (c) => c.ad,
                    random,
                    finished: done,
                    onKill: (n) => log(`${at()}: SIGKILL AD worker #${ad.kills} after ${n} delegation calls`),
                  }),
                  outage(),
                ]);
              }
            : undefined,
      }).finally(() => (finished = true));
      const findings = await historyFindings(client, spec);
      log(
        `${name} run: ${(result.ms / 1000).toFixed(1)} s, ${result.mainKills} main and ${result.adKills} AD worker kills`
      );
      log(`${name} run: lab calls per 10 s: ${result.callsPer10s}`);
      if (result.mainKills + result.adKills > 0) {
        const seconds = (ms: number[]): string => ms.map((m) => (m / 1000).toFixed(1)).join(', ') || '-';
        log(
          `killed worker to its successor polling (s): main ${seconds(result.mainDowntimesMs)}; AD ${seconds(result.adDowntimesMs)}`
        );
      }
      log(
        `${name} run: ${findings.timedOutTasks.startToClose} workflow tasks timed out with their worker, ${findings.timedOutTasks.scheduleToStart} on a sticky queue; ${findings.heartbeatTimeouts} activity attempts retried after their heartbeat timeout`
      );
      return { ...result, findings };
    } finally {
      await temporalClient.close();
      await server.stop();
      for (const f of [dbFile, `${dbFile}-wal`, `${dbFile}-shm`]) fs.rmSync(f, { force: true });
    }
  };

  const calm = await run('undisturbed', false);
  const stormy = await run('disturbed', true, calm);
  const spec = chaosFleet(`chaos-${seed}`, servers, 'chaos');

  const problems: string[] = [];
  const want = outcomes(spec, calm.fleet, calm.estate);
  const got = outcomes(spec, stormy.fleet, stormy.estate);
  spec.servers.forEach(({ fqdn }, i) => {
    if (JSON.stringify(want[i]) !== JSON.stringify(got[i])) {
      problems.push(`${fqdn} ended ${JSON.stringify(got[i])}, undisturbed ${JSON.stringify(want[i])}`);
    }
  });
  for (const twice of appliedTwice(stormy.estate)) problems.push(`applied twice: ${twice}`);
  for (const f of calm.findings?.failedTasks ?? []) problems.push(`workflow task failed (undisturbed): ${f}`);
  for (const f of stormy.findings?.failedTasks ?? []) problems.push(`workflow task failed (disturbed): ${f}`);
  if (stormy.mainKills < mainKills)
    problems.push(`only ${stormy.mainKills} of ${mainKills} main worker kills happened`);

  const ratio = stormy.ms / calm.ms;
  log(`undisturbed ${(calm.ms / 1000).toFixed(1)} s, disturbed ${(stormy.ms / 1000).toFixed(1)} s`);
  log(`disturbed/undisturbed time ratio: ${ratio.toFixed(2)} (target <= 1.5)`);
  log(`phases: ${JSON.stringify(stormy.fleet.counts)}`);
  for (const p of problems) log(`FAIL ${p}`);
  if (problems.length === 0) log('every server ended as undisturbed; no change applied twice; no workflow task failed');
  fs.rmSync(dir, { recursive: true, force: true });
  return problems.length === 0;
}

/** The lab's own generator, so one seed gives the same kill moments on every run. */
export function seededRandom(seed: number): () => number {
  let state = seed;
  return () => {
    const next = nextRandom(state);
    state = next.state;
    return next.value;
  };
}

async function waitUntil(check: () => boolean): Promise<void> {
  while (!check()) await new Promise((r) => setTimeout(r, 200));
}

if (require.main === module) {
  chaos().then(
    (ok) => process.exit(ok ? 0 : 1),
    (err: unknown) => {
      console.error(err instanceof Error ? (err.stack ?? err.message) : String(err));
      process.exit(1);
    }
  );
}
