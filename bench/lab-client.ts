/**
 * The worker process's side of the lab process (bench/lab-process.ts): a PowerShellRunner that sends
 * each call there, and the lab's latest counts.
 */
import { fork, type ChildProcess } from 'node:child_process';
import type { StepEnvelope } from '../domain/envelope';
import type { FleetSpec } from '../domain/fleet';
import type { ScriptCall } from '../domain/scripts';
import { emptyLabStats, restartedLabStats, type LabStats } from '../lab/lab-runner';
import { ScriptFailure, type PowerShellRunner } from '../runner/port';
import type { CrossingFailure, FromLab, ToLab } from './lab-process';

function failureFrom(crossing: CrossingFailure): Error {
  return 'kind' in crossing
    ? new ScriptFailure(crossing.kind, crossing.message, crossing.detail)
    : new Error(crossing.message);
}

export class LabProcess implements PowerShellRunner {
  /** The lab's counts as it last sent them (every 100 ms). */
  stats: LabStats = emptyLabStats();
  private nextId = 0;
  private readonly calls = new Map<number, { resolve: (e: StepEnvelope) => void; reject: (err: Error) => void }>();
  private stopped?: Promise<void>;

  private constructor(private readonly child: ChildProcess) {
    child.on('message', (message: FromLab) => {
      if (message.type === 'stats' || message.type === 'stopped') this.stats = message.stats;
      if (message.type === 'ran' || message.type === 'failed') {
        const call = this.calls.get(message.id);
        this.calls.delete(message.id);
        if (message.type === 'ran') call?.resolve(message.envelope);
        else call?.reject(failureFrom(message.failure));
      }
    });
    child.on('exit', (code, signal) => {
      const err = new Error(`the lab process ended (${signal ?? `exit ${String(code)}`})`);
      for (const call of this.calls.values()) call.reject(err);
      this.calls.clear();
    });
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  /** Forks the lab process with the Node options of this one (its heap limits), simulating `estate`'s servers. */
  static async start(estate: FleetSpec, latencyMs: number): Promise<LabProcess> {
    const child = fork(require.resolve('./lab-process'), [], {
      execArgv: process.execArgv,
      stdio: 'inherit',
      serialization: 'advanced',
    });
    const lab = new LabProcess(child);
    const ready = new Promise<void>((resolve, reject) => {
      child.on('message', (message: FromLab) => {
        if (message.type === 'ready') resolve();
      });
      child.once('exit', () => reject(new Error('the lab process ended before it was ready')));
    });
    lab.send({ type: 'start', estate, latencyMs });
    await ready;
    return lab;
  }

  run(call: ScriptCall): Promise<StepEnvelope> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.calls.set(id, { resolve, reject });
      this.send({ type: 'run', id, call });
    });
  }

  resetStats(): void {
    this.stats = restartedLabStats(this.stats);
    this.send({ type: 'reset' });
  }

  injectFaults(rate: number): void {
    this.send({ type: 'faults', rate });
  }

  close(): Promise<void> {
    this.stopped ??= new Promise<void>((resolve) => {
      if (this.child.exitCode !== null) return resolve();
      this.child.once('exit', () => resolve());
      this.send({ type: 'stop' });
    });
    return this.stopped;
  }

  private send(message: ToLab): void {
    if (this.child.connected) this.child.send(message);
  }
}
