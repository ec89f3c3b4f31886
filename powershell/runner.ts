/**
 * The port every step runs PowerShell through. Two adapters: `NodePowerShellRunner` (production,
 * node-powershell + Invoke-Command) and `LabRunner` (the simulated estate in lab/).
 */
import type { FailureKind } from '../domain/failures';
import type { ScriptCall, ScriptTarget } from '../domain/scripts';
import type { StepEnvelope } from '../domain/steps';

export interface PowerShellRunner {
  /** Runs one script call; resolves with the validated envelope of a successful run, else throws `ScriptFailure`. */
  run(call: ScriptCall): Promise<StepEnvelope>;
  /** Releases sessions and processes. */
  close(): Promise<void>;
}

/** A classified failure of a script call; activities turn it into a Temporal `ApplicationFailure`. */
export class ScriptFailure extends Error {
  override readonly name = 'ScriptFailure';
  constructor(
    readonly kind: FailureKind,
    message: string,
    readonly detail: { script: string; target: string; code: string }
  ) {
    super(message);
  }
}

export function targetLabel(target: ScriptTarget): string {
  if (target.host === 'exchange') return target.fqdn;
  if (target.host === 'ad') return `ad:${target.domainController ?? 'any-dc'}`;
  return `worker(for ${target.onBehalfOf})`;
}

/**
 * The Exchange server a call opens a WinRM session against: the unit of the per-host session limit.
 * Worker-side checks (Test-WSMan, TrustedHosts on the Monosync side) connect to, or are about, the
 * server they act for. AD calls open no session on an Exchange server; the AD budget bounds them.
 */
export function sessionHost(target: ScriptTarget): string | null {
  if (target.host === 'exchange') return target.fqdn;
  if (target.host === 'worker') return target.onBehalfOf;
  return null;
}
