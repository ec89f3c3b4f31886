/**
 * Production adapter of `PowerShellRunner`: long-lived pwsh sessions (node-powershell), remote work
 * through `Invoke-Command`, at most N sessions per target host, a hard per-call timeout.
 */
import { InvocationError, type PowerShell } from 'node-powershell';
import { failureKind } from '../domain/failures';
import type { StepEnvelope } from '../domain/envelope';
import type { ScriptCall } from '../domain/scripts';
import { validateCall } from '../runner/contract';
import { limitSessionsPerHost, SESSIONS_PER_HOST } from '../runner/host-limit';
import { ScriptFailure, targetLabel, type PowerShellRunner } from '../runner/port';
import { envelopeFromOutput, failureFromErrorText } from '../runner/session-output';
import { buildCommand, CREDENTIAL_ENV, SERVICE_ACCOUNT_ENV } from './command';
import { readServiceAccountCredential, readServiceCredential, type ServiceCredential } from './credentials';
import { SessionPool } from './session-pool';

export interface NodePowerShellRunnerOptions {
  timeoutMs?: number;
  poolSize?: number;
  sessionsPerHost?: number;
  /** `undefined`: read from the environment (`FLEET_ADMIN_*`); `null`: the worker's own identity. */
  credentials?: ServiceCredential | null;
  /**
   * Monosync's service account, which the acceptance test acts as. `undefined`: read from the environment
   * (`FLEET_SERVICE_ACCOUNT_*`); `null`: none (the test acts as the worker and says when that proves nothing).
   */
  serviceAccountCredential?: ServiceCredential | null;
  executable?: string;
  env?: NodeJS.ProcessEnv;
  /** Sees every command text before it runs (audit, tests); the text never holds a secret. */
  onCommand?: (command: string) => void;
}

const TIMED_OUT = Symbol('timed out');

export class NodePowerShellRunner implements PowerShellRunner {
  private readonly pool: SessionPool;
  private readonly limited: PowerShellRunner;
  private readonly timeoutMs: number;
  private readonly credentials: ServiceCredential | null;
  private readonly serviceAccountCredential: ServiceCredential | null;

  constructor(private readonly options: NodePowerShellRunnerOptions = {}) {
    this.timeoutMs = options.timeoutMs ?? 120_000;
    const baseEnv = options.env ?? process.env;
    this.credentials = options.credentials === undefined ? readServiceCredential(baseEnv) : options.credentials;
    this.serviceAccountCredential =
      options.serviceAccountCredential === undefined
        ? readServiceAccountCredential(baseEnv)
        : options.serviceAccountCredential;
    // PowerShell gets the one credential it needs, and none of the worker's other secrets.
    const env: NodeJS.ProcessEnv = Object.fromEntries(
      Object.entries(baseEnv).filter(
        ([name]) =>
          !/^(TEMPORAL_API_KEY|TEMPORAL_TLS_KEY|FLEET_ADMIN_PASSWORD|FLEET_SERVICE_ACCOUNT_PASSWORD|FLEET_CODEC_KEY)/.test(
            name
          )
      )
    );
    delete env[CREDENTIAL_ENV.user];
    delete env[CREDENTIAL_ENV.password];
    delete env[SERVICE_ACCOUNT_ENV.user];
    delete env[SERVICE_ACCOUNT_ENV.password];
    // No terminal: pwsh on Linux would otherwise frame its output with keypad-mode escape sequences.
    env.TERM = 'dumb';
    if (this.credentials) {
      // Read into a PSCredential and removed from the process by the session's first command (command.ts).
      env[CREDENTIAL_ENV.user] = this.credentials.user;
      env[CREDENTIAL_ENV.password] = this.credentials.revealPassword();
    }
    if (this.serviceAccountCredential) {
      env[SERVICE_ACCOUNT_ENV.user] = this.serviceAccountCredential.user;
      env[SERVICE_ACCOUNT_ENV.password] = this.serviceAccountCredential.revealPassword();
    }
    this.pool = new SessionPool({
      size: options.poolSize ?? 4,
      executable: options.executable,
      env,
      startupTimeoutMs: Math.max(60_000, this.timeoutMs),
    });
    this.limited = limitSessionsPerHost(
      { run: (call) => this.runNow(call), close: async () => undefined },
      options.sessionsPerHost ?? SESSIONS_PER_HOST
    );
  }

  async run(call: ScriptCall): Promise<StepEnvelope> {
    return this.limited.run(validateCall(call));
  }

  async close(): Promise<void> {
    await this.pool.close();
  }

  private async runNow(call: ScriptCall): Promise<StepEnvelope> {
    const command = buildCommand(call, {
      useCredential: this.credentials !== null,
      useServiceAccountCredential: this.serviceAccountCredential !== null,
      timeoutMs: this.timeoutMs,
    });
    // Values travel as base64; a character beyond ASCII here would meet the console's input code page.
    if (/[^\x20-\x7E]/.test(command)) throw new Error(`the command for ${call.script} is not printable ASCII`);
    this.options.onCommand?.(command);
    const shell = await this.pool.acquire();
    let raw: string;
    try {
      raw = await this.invokeWithTimeout(shell, command, call);
    } catch (err) {
      throw this.failureOf(err, call);
    }
    this.pool.release(shell);
    return envelopeFromOutput(raw, call);
  }

  private async invokeWithTimeout(shell: PowerShell, command: string, call: ScriptCall): Promise<string> {
    let timer: NodeJS.Timeout | undefined;
    const invocation = shell.invoke(command);
    const timeout = new Promise<typeof TIMED_OUT>((resolve) => {
      timer = setTimeout(() => resolve(TIMED_OUT), this.timeoutMs);
    });
    try {
      const result = await Promise.race([invocation, timeout]);
      if (result === TIMED_OUT) {
        // The killed session settles the pending invocation; nobody waits for it any more.
        invocation.catch(() => undefined);
        await this.pool.discard(shell);
        throw new ScriptFailure(
          failureKind('WinRMTimeout'),
          `${call.script} on ${targetLabel(call.target)} did not answer within ${this.timeoutMs} ms`,
          { script: call.script, target: targetLabel(call.target), code: 'Timeout' }
        );
      }
      return result.raw;
    } catch (err) {
      if (!(err instanceof ScriptFailure)) {
        // An error record leaves the session usable; a dead process does not.
        if (err instanceof InvocationError && !/invoke called after process exited/.test(err.message)) {
          this.pool.release(shell);
        } else {
          await this.pool.discard(shell);
        }
      }
      throw err;
    } finally {
      clearTimeout(timer);
    }
  }

  private failureOf(err: unknown, call: ScriptCall): ScriptFailure {
    if (err instanceof ScriptFailure) return err;
    // node-powershell rejects with the error record's text as written to stderr.
    return failureFromErrorText(err instanceof Error ? err.message : String(err), call);
  }
}
