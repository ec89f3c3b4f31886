/**
 * The port every step runs PowerShell through, apart from both adapters: `NodePowerShellRunner`
 * (production, powershell/: node-powershell + Invoke-Command) and `LabRunner` (the simulated estate
 * in lab/). Both accept the same calls (./contract.ts) under the same per-host limit (./host-limit.ts).
 */
import type { FailureKind } from '../domain/failures';
import type { StepEnvelope } from '../domain/envelope';
import type { ScriptCall, ScriptTarget } from '../domain/scripts';

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
 * The Exchange server a call is about, as a normalised FQDN (DNS names compare case-insensitively):
 * the server it runs on, or the server a worker-side check (Test-WSMan, TrustedHosts on the Monosync
 * side) connects to or acts for. It is the unit of the per-host session limit. AD calls open no
 * session on an Exchange server and name a computer object, not a host: null (the AD budget bounds
 * them; the lab maps the computer name to its host).
 */
export function serverOf(target: ScriptTarget): string | null {
  if (target.host === 'exchange') return normaliseFqdn(target.fqdn);
  if (target.host === 'worker') return normaliseFqdn(target.onBehalfOf);
  return null;
}

function normaliseFqdn(fqdn: string): string {
  return fqdn.trim().toLowerCase().replace(/\.$/, '');
}
