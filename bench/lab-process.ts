/**
 * The product's lab in a process of its own, beside the bench's worker process (which forks it): the
 * simulated Exchange servers and domain controllers take none of the worker's memory or CPU, as the real
 * ones would not. The worker's runner (bench/lab-client.ts) sends each script call here and gets back the
 * envelope or the ScriptFailure the lab produced; the lab's counts come every SAMPLE_EVERY_MS.
 */
import type { StepEnvelope } from '../domain/envelope';
import type { FailureKind } from '../domain/failures';
import type { FleetSpec } from '../domain/fleet';
import type { ScriptCall } from '../domain/scripts';
import { LabRunner, type LabStats } from '../lab/lab-runner';
import { largeFleetEstate } from '../lab/scenarios';
import { ScriptFailure } from '../runner/port';

/** A failure as it crosses the process boundary: a ScriptFailure keeps its kind and detail. */
export type CrossingFailure =
  { kind: FailureKind; message: string; detail: ScriptFailure['detail'] } | { message: string };

export type ToLab =
  | { type: 'start'; estate: FleetSpec; latencyMs: number }
  | { type: 'run'; id: number; call: ScriptCall }
  | { type: 'reset' }
  | { type: 'faults'; rate: number }
  | { type: 'stop' };
export type FromLab =
  | { type: 'ready' }
  | { type: 'ran'; id: number; envelope: StepEnvelope }
  | { type: 'failed'; id: number; failure: CrossingFailure }
  | { type: 'stats'; stats: LabStats }
  | { type: 'stopped'; stats: LabStats };

const SAMPLE_EVERY_MS = 100;

const send = (message: FromLab): void => {
  process.send?.(message);
};

function crossing(err: unknown): CrossingFailure {
  if (err instanceof ScriptFailure) return { kind: err.kind, message: err.message, detail: err.detail };
  return { message: err instanceof Error ? err.message : String(err) };
}

function serve(start: Extract<ToLab, { type: 'start' }>): void {
  const estate = largeFleetEstate(start.estate);
  const lab = new LabRunner(estate, { latencyMs: start.latencyMs });
  const reporter = setInterval(() => send({ type: 'stats', stats: { ...lab.stats } }), SAMPLE_EVERY_MS);
  process.on('message', (message: ToLab) => {
    if (message.type === 'run') {
      lab.run(message.call).then(
        (envelope) => send({ type: 'ran', id: message.id, envelope }),
        (err: unknown) => send({ type: 'failed', id: message.id, failure: crossing(err) })
      );
    }
    if (message.type === 'reset') lab.resetStats();
    // A WinRM operation timing out (0x80338029, WinRMTimeout): transient, so the step activity is retried.
    // Not WinRMUnavailable: a step that restarts WinRM takes that on its apply call for the drop it causes.
    if (message.type === 'faults') estate.injectFault({ kind: 'error', code: '0x80338029', probability: message.rate });
    if (message.type === 'stop') {
      clearInterval(reporter);
      void lab.close().then(() => {
        send({ type: 'stopped', stats: { ...lab.stats } });
        process.exit(0);
      });
    }
  });
  send({ type: 'ready' });
}

process.once('message', (message: ToLab) => {
  if (message.type === 'start') serve(message);
});
