/**
 * Every server's phase with running counts per phase. The fleet workflow checks its counts on every
 * activation and replays thousands of events; walking 5,000 phases each time made replays of one run
 * take longer than the workflow task timeout. Deterministic code only.
 */
import type { ServerPhase } from '../domain/status';

export class PhaseTally {
  private readonly counts = new Map<ServerPhase, number>();

  /** Takes ownership of `phases` (the fleet's carried record) and keeps it up to date. */
  constructor(private readonly phases: Record<string, ServerPhase>) {
    for (const phase of Object.values(phases)) this.add(phase, 1);
  }

  phaseOf(fqdn: string): ServerPhase | undefined {
    return this.phases[fqdn];
  }

  has(fqdn: string): boolean {
    return fqdn in this.phases;
  }

  set(fqdn: string, phase: ServerPhase): void {
    const old = this.phases[fqdn];
    if (old === phase) return;
    if (old !== undefined) this.add(old, -1);
    this.phases[fqdn] = phase;
    this.add(phase, 1);
  }

  /** Servers in any of `phases`. */
  count(phases: readonly ServerPhase[]): number {
    return phases.reduce((sum, phase) => sum + (this.counts.get(phase) ?? 0), 0);
  }

  byPhase(): Partial<Record<ServerPhase, number>> {
    return Object.fromEntries([...this.counts].filter(([, n]) => n > 0));
  }

  private add(phase: ServerPhase, n: number): void {
    this.counts.set(phase, (this.counts.get(phase) ?? 0) + n);
  }
}
