/**
 * A fixed number of long-lived pwsh processes: starting PowerShell costs about a second, so
 * sessions are reused; a session that timed out or died is discarded and replaced on demand.
 */
import { PowerShell } from 'node-powershell';

export interface SessionPoolOptions {
  size: number;
  executable?: string;
  env: NodeJS.ProcessEnv;
  startupTimeoutMs: number;
}

export class SessionPool {
  private readonly idle: PowerShell[] = [];
  private readonly all = new Set<PowerShell>();
  private readonly waiting: Array<(shell: Promise<PowerShell>) => void> = [];
  private closed = false;

  constructor(private readonly options: SessionPoolOptions) {}

  async acquire(): Promise<PowerShell> {
    if (this.closed) throw new Error('the PowerShell runner is closed');
    const ready = this.idle.pop();
    if (ready) return ready;
    if (this.all.size < this.options.size) return this.spawn();
    return new Promise<PowerShell>((resolve, reject) => this.waiting.push((s) => s.then(resolve, reject)));
  }

  release(shell: PowerShell): void {
    const next = this.waiting.shift();
    if (next) next(Promise.resolve(shell));
    else this.idle.push(shell);
  }

  /** Kills a session that can no longer be trusted (timed out mid-call, or its process exited). */
  async discard(shell: PowerShell): Promise<void> {
    this.all.delete(shell);
    const next = this.waiting.shift();
    if (next && !this.closed) next(this.spawn());
    await shell.dispose('SIGKILL').catch(() => undefined);
  }

  async close(): Promise<void> {
    this.closed = true;
    const shells = [...this.all];
    this.all.clear();
    this.idle.length = 0;
    await Promise.all(shells.map((s) => s.dispose().catch(() => undefined)));
  }

  /**
   * Starts a session and waits until it answers, so that a call's timeout measures the call and not
   * PowerShell's start-up (about a second, more on a loaded worker).
   */
  private async spawn(): Promise<PowerShell> {
    const shell = new PowerShell({
      ...(this.options.executable ? { executable: this.options.executable } : {}),
      executableOptions: { '-NoProfile': true, '-NonInteractive': true },
      spawnOptions: { env: this.options.env },
      // The runner enforces its own timeout: node-powershell's resolves silently and leaves the session mid-command.
      invocationTimeout: 0,
    });
    this.all.add(shell);
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        shell.invoke('$null'),
        new Promise<never>((_, reject) => {
          timer = setTimeout(
            () => reject(new Error(`PowerShell did not start within ${this.options.startupTimeoutMs} ms`)),
            this.options.startupTimeoutMs
          );
        }),
      ]);
      return shell;
    } catch (err) {
      this.all.delete(shell);
      await shell.dispose('SIGKILL').catch(() => undefined);
      throw err;
    } finally {
      clearTimeout(timer);
    }
  }
}
