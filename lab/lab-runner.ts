/**
 * The lab adapter of the PowerShell port: the same validation, session limit and envelope parsing as
 * production (runner/), with the Windows estate replaced by `LabEstate`. Latency is simulated so
 * concurrency behaves as it does against real servers (calls overlap, limits bite).
 */
import type { StepEnvelope } from '../domain/envelope';
import { failureKind } from '../domain/failures';
import type { ScriptCall } from '../domain/scripts';
import { parseEnvelope, validateCall } from '../runner/contract';
import { limitSessionsPerHost, SESSIONS_PER_HOST } from '../runner/host-limit';
import { ScriptFailure, serverOf, targetLabel, type PowerShellRunner } from '../runner/port';
import type { LabEstate } from './estate';

export interface LabRunnerOptions {
  latencyMs?: number | ((call: ScriptCall) => number);
  sessionsPerHost?: number;
}

export interface LabStats {
  calls: number;
  inFlightServers: number;
  maxInFlightServers: number;
  adInFlight: number;
  maxAdInFlight: number;
  maxSessionsPerHost: number;
}

interface Pending {
  timer?: NodeJS.Timeout;
  finish: () => void;
}

export class LabRunner implements PowerShellRunner {
  readonly stats: LabStats = {
    calls: 0,
    inFlightServers: 0,
    maxInFlightServers: 0,
    adInFlight: 0,
    maxAdInFlight: 0,
    maxSessionsPerHost: 0,
  };
  /** Open sessions per server, as the port's limit lets them through (`serverOf`: AD calls open none). */
  private readonly sessions = new Map<string, number>();
  private readonly servers = new Map<string, number>();
  private readonly pending = new Set<Pending>();
  private readonly limited: PowerShellRunner;

  constructor(
    private readonly estate: LabEstate,
    private readonly options: LabRunnerOptions = {}
  ) {
    // AD calls go to a domain controller, whose concurrency is the AD worker's budget (measured
    // below, not limited here); every other call opens a WinRM session on (or for) the server.
    this.limited = limitSessionsPerHost(
      { run: (call) => this.runNow(call), close: async () => undefined },
      options.sessionsPerHost ?? SESSIONS_PER_HOST
    );
  }

  async run(input: ScriptCall): Promise<StepEnvelope> {
    const call = validateCall(input);
    this.stats.calls += 1;
    return this.limited.run(call);
  }

  /** Ends every hanging or sleeping call, as closing real sessions would. */
  async close(): Promise<void> {
    for (const p of [...this.pending]) p.finish();
  }

  /** One call inside the session limit. */
  private async runNow(call: ScriptCall): Promise<StepEnvelope> {
    const session = serverOf(call.target);
    if (session !== null) this.openSession(session);
    const server = this.estate.subjectOf(call);
    this.enter(server, call);
    try {
      await this.wait(this.latency(call));
      const outcome = this.estate.execute(call);
      if (outcome.kind === 'hang') {
        await this.wait(outcome.delayMs);
        throw new ScriptFailure(
          failureKind('WinRMTimeout'),
          `${call.script} on ${targetLabel(call.target)} timed out`,
          {
            script: call.script,
            target: targetLabel(call.target),
            code: '0x80338029',
          }
        );
      }
      return parseEnvelope(outcome.envelope, call);
    } finally {
      this.leave(server, call);
      if (session !== null) this.closeSession(session);
    }
  }

  private latency(call: ScriptCall): number {
    const l = this.options.latencyMs;
    return typeof l === 'function' ? l(call) : (l ?? 0);
  }

  /** Resolves after `ms`, or at close(); `undefined` waits for close() only. */
  private wait(ms: number | undefined): Promise<void> {
    if (ms === 0) return Promise.resolve();
    return new Promise((resolve) => {
      const entry: Pending = {
        finish: () => {
          if (entry.timer) clearTimeout(entry.timer);
          this.pending.delete(entry);
          resolve();
        },
      };
      if (ms !== undefined) entry.timer = setTimeout(entry.finish, ms);
      this.pending.add(entry);
    });
  }

  private openSession(server: string): void {
    const open = (this.sessions.get(server) ?? 0) + 1;
    this.sessions.set(server, open);
    this.stats.maxSessionsPerHost = Math.max(this.stats.maxSessionsPerHost, open);
  }

  private closeSession(server: string): void {
    const left = (this.sessions.get(server) ?? 1) - 1;
    if (left === 0) this.sessions.delete(server);
    else this.sessions.set(server, left);
  }

  private enter(server: string, call: ScriptCall): void {
    this.servers.set(server, (this.servers.get(server) ?? 0) + 1);
    this.stats.inFlightServers = this.servers.size;
    this.stats.maxInFlightServers = Math.max(this.stats.maxInFlightServers, this.servers.size);
    if (call.target.host === 'ad') {
      this.stats.adInFlight += 1;
      this.stats.maxAdInFlight = Math.max(this.stats.maxAdInFlight, this.stats.adInFlight);
    }
  }

  private leave(server: string, call: ScriptCall): void {
    const left = (this.servers.get(server) ?? 1) - 1;
    if (left === 0) this.servers.delete(server);
    else this.servers.set(server, left);
    this.stats.inFlightServers = this.servers.size;
    if (call.target.host === 'ad') this.stats.adInFlight -= 1;
  }
}
