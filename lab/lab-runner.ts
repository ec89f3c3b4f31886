/**
 * The lab adapter of the PowerShell port: the same validation, session limit and envelope parsing as
 * production, with the Windows estate replaced by `LabEstate`. Latency is simulated so concurrency
 * behaves as it does against real servers (calls overlap, limits bite).
 */
import { failureKind } from '../domain/failures';
import type { ScriptCall } from '../domain/scripts';
import type { StepEnvelope } from '../domain/steps';
import { parseEnvelope, validateCall } from '../powershell/contract';
import { SESSIONS_PER_HOST } from '../powershell/host-limit';
import { ScriptFailure, targetLabel, type PowerShellRunner } from '../powershell/runner';
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
  private readonly sessions = new Map<string, number>();
  private readonly queues = new Map<string, Array<() => void>>();
  private readonly servers = new Map<string, number>();
  private readonly pending = new Set<Pending>();
  private readonly limit: number;

  constructor(
    private readonly estate: LabEstate,
    private readonly options: LabRunnerOptions = {}
  ) {
    this.limit = options.sessionsPerHost ?? SESSIONS_PER_HOST;
  }

  async run(input: ScriptCall): Promise<StepEnvelope> {
    const call = validateCall(input);
    this.stats.calls += 1;
    const server = this.estate.subjectOf(call);
    // AD calls go to a domain controller, whose concurrency is the AD worker's budget (measured
    // below, not limited here); every other call opens a WinRM session on (or for) the server.
    const sessionKey = call.target.host === 'ad' ? undefined : server;
    if (sessionKey) await this.acquire(sessionKey);
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
      if (sessionKey) this.release(sessionKey);
    }
  }

  /** Ends every hanging or sleeping call, as closing real sessions would. */
  async close(): Promise<void> {
    for (const p of [...this.pending]) p.finish();
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

  private async acquire(key: string): Promise<void> {
    while ((this.sessions.get(key) ?? 0) >= this.limit) {
      await new Promise<void>((resolve) => {
        const queue = this.queues.get(key) ?? [];
        queue.push(resolve);
        this.queues.set(key, queue);
      });
    }
    const open = (this.sessions.get(key) ?? 0) + 1;
    this.sessions.set(key, open);
    this.stats.maxSessionsPerHost = Math.max(this.stats.maxSessionsPerHost, open);
  }

  private release(key: string): void {
    const left = (this.sessions.get(key) ?? 1) - 1;
    if (left === 0) this.sessions.delete(key);
    else this.sessions.set(key, left);
    const queue = this.queues.get(key);
    const next = queue?.shift();
    if (queue && queue.length === 0) this.queues.delete(key);
    next?.();
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
