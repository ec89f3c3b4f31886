/**
 * The lab adapter of the PowerShell port: the same validation, session limit and envelope parsing as
 * production (runner/), with the Windows estate replaced by `LabEstate`. Latency is simulated so
 * concurrency behaves as it does against real servers (calls overlap, limits bite).
 */
import type { StepEnvelope } from '../domain/envelope';
import type { ScriptCall } from '../domain/scripts';
import { validateCall } from '../runner/contract';
import { limitSessionsPerHost, SESSIONS_PER_HOST } from '../runner/host-limit';
import { serverOf, targetLabel, type PowerShellRunner } from '../runner/port';
import { envelopeFromOutput, failureFromErrorText } from '../runner/session-output';
import type { LabEstate } from './estate';
import { sessionTextOf, transportErrorText, type SessionText } from './session-text';

export interface LabRunnerOptions {
  latencyMs?: number | ((call: ScriptCall) => number);
  sessionsPerHost?: number;
  /** Sees what the simulated Windows PowerShell 5.1 session printed for each call (tests). */
  onSessionText?: (text: SessionText, call: ScriptCall) => void;
}

export interface LabStats {
  calls: number;
  inFlightServers: number;
  maxInFlightServers: number;
  adInFlight: number;
  maxAdInFlight: number;
  maxSessionsPerHost: number;
}

/** The counts of a lab that has run nothing. */
export function emptyLabStats(): LabStats {
  return {
    calls: 0,
    inFlightServers: 0,
    maxInFlightServers: 0,
    adInFlight: 0,
    maxAdInFlight: 0,
    maxSessionsPerHost: 0,
  };
}

/** `stats` started again: counts and maxima from now on, calls in progress still counted in flight. */
export function restartedLabStats(stats: LabStats): LabStats {
  return {
    ...stats,
    calls: 0,
    maxInFlightServers: stats.inFlightServers,
    maxAdInFlight: stats.adInFlight,
    maxSessionsPerHost: 0,
  };
}

interface Pending {
  timer?: NodeJS.Timeout;
  finish: () => void;
}

export class LabRunner implements PowerShellRunner {
  readonly stats: LabStats = emptyLabStats();
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

  /** Starts the counts and maxima again (calls in progress stay counted in flight), e.g. between benchmark runs. */
  resetStats(): void {
    Object.assign(this.stats, restartedLabStats(this.stats));
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
      // The session opens first: a host whose WinRM restarts (Enable-Remoting's scheduled task), listens
      // nowhere, is outside the domain or filters the account's token refuses it outright. It prints
      // Invoke-Command's error record, which the production parser reads like any other.
      const refused = this.estate.winrmRefusal(call);
      if (refused) this.printFailure(refused.message, call);
      const opened = this.estate.winrmRestartsOf(call);
      await this.wait(this.latency(call));
      // WinRM restarted while this session was open (another session ran the task): its shell is gone.
      const dropped = this.estate.droppedSince(call, opened);
      if (dropped) this.printFailure(dropped.message, call);
      const outcome = this.estate.execute(call);
      if (outcome.kind === 'hang') {
        // What Invoke-Command prints when the WinRM operation outlives its OperationTimeout.
        await this.wait(outcome.delayMs);
        const computer = call.target.host === 'exchange' ? call.target.fqdn : targetLabel(call.target);
        const printed: SessionText = { stdout: '', stderr: transportErrorText('0x80338029', computer) };
        this.options.onSessionText?.(printed, call);
        throw failureFromErrorText(printed.stderr, call);
      }
      // As text, through the production runner's parsing: what 5.1 prints, not the object behind it.
      const printed = sessionTextOf(outcome.envelope, call);
      this.options.onSessionText?.(printed, call);
      if (printed.stderr) throw failureFromErrorText(printed.stderr, call);
      return envelopeFromOutput(printed.stdout, call);
    } finally {
      this.leave(server, call);
      if (session !== null) this.closeSession(session);
    }
  }

  /** A call that failed in the transport: the error record on stderr, through the production parser. */
  private printFailure(stderr: string, call: ScriptCall): never {
    const printed: SessionText = { stdout: '', stderr };
    this.options.onSessionText?.(printed, call);
    throw failureFromErrorText(printed.stderr, call);
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
