/**
 * The bench process's side of a worker process (`bench/worker-process.ts`): starts it, follows its
 * counts, steers it and stops it. Its process id is what the bench reads CPU and memory from.
 */
import { fork, type ChildProcess } from 'node:child_process';
import type { FromWorker, ToWorker, WorkerProcessConfig, WorkerProcessStats } from './worker-process';

const EMPTY: WorkerProcessStats = {
  inFlightServers: 0,
  maxInFlightServers: 0,
  maxAdInFlight: 0,
  calls: 0,
  byScript: [],
};

export class WorkerHost {
  /** The latest counts the process reported (every 100 ms). */
  stats: WorkerProcessStats = EMPTY;
  /** Rejects when the process ends before it was asked to stop, so a run fails at once instead of stalling. */
  readonly died: Promise<never>;
  private stopping = false;
  private finalStats: Promise<WorkerProcessStats>;

  private constructor(private readonly child: ChildProcess) {
    let stoppedWith: (s: WorkerProcessStats) => void = () => undefined;
    this.finalStats = new Promise((resolve) => (stoppedWith = resolve));
    let fail: (err: Error) => void = () => undefined;
    this.died = new Promise<never>((_, reject) => (fail = reject));
    this.died.catch(() => undefined);
    let failure = '';
    child.on('message', (message: FromWorker) => {
      if (message.type === 'stats') this.stats = message.stats;
      if (message.type === 'stopped') stoppedWith((this.stats = message.stats));
      if (message.type === 'failed') failure = message.error;
    });
    child.on('exit', (code, signal) => {
      if (!this.stopping) fail(new Error(`the worker process ended (${signal ?? `exit ${String(code)}`}): ${failure}`));
      stoppedWith(this.stats);
    });
  }

  get pid(): number {
    if (this.child.pid === undefined) throw new Error('the worker process has no process id');
    return this.child.pid;
  }

  static async start(config: WorkerProcessConfig): Promise<WorkerHost> {
    // BENCH_WORKER_NODE_ARGS adds Node options to the worker process only (`--cpu-prof --cpu-prof-dir=…` profiles it).
    const extra = (process.env.BENCH_WORKER_NODE_ARGS ?? '').split(/\s+/).filter(Boolean);
    const child = fork(require.resolve('./worker-process'), [], {
      execArgv: ['--import', 'tsx', ...(config.nodeOptions ?? []), ...extra],
      stdio: 'inherit',
    });
    const host = new WorkerHost(child);
    const ready = new Promise<void>((resolve) => {
      child.on('message', (message: FromWorker) => {
        if (message.type === 'ready') resolve();
      });
    });
    host.send({ type: 'start', config });
    await Promise.race([ready, host.died]);
    return host;
  }

  reset(): void {
    this.send({ type: 'reset' });
  }

  injectFaults(rate: number): void {
    this.send({ type: 'faults', rate });
  }

  /** Stops the workers (running activities get their grace time) and the process; the final counts. */
  async stop(): Promise<WorkerProcessStats> {
    this.stopping = true;
    this.send({ type: 'stop' });
    return this.finalStats;
  }

  private send(message: ToWorker): void {
    this.child.send(message);
  }
}
