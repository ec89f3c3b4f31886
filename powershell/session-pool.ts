/**
 * A fixed number of long-lived pwsh processes: starting PowerShell costs about a second, so
 * sessions are reused; a session that timed out or died is discarded and replaced on demand.
 *
 * Discarding kills the session's whole process tree, not only the process node-powershell started:
 * `pwsh` installed as a .NET tool is a launcher that runs PowerShell as its child, and a script may
 * have started programs of its own. Killing the launcher alone would leave a hung call running.
 */
import { execFile, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import { PowerShell } from 'node-powershell';

export interface SessionPoolOptions {
  size: number;
  executable?: string;
  env: NodeJS.ProcessEnv;
  startupTimeoutMs: number;
}

/** The operating-system process of a session (node-powershell keeps it private). */
function sessionPid(shell: PowerShell): number | undefined {
  return (shell as unknown as { process?: ChildProcess }).process?.pid;
}

/** Every live descendant of `pid` (children first found, grandchildren after), from /proc or `ps`. */
function descendantsOf(pid: number): Promise<number[]> {
  return new Promise((resolve) => {
    const walk = (pairs: Array<[number, number]>) => {
      const children = new Map<number, number[]>();
      for (const [child, parent] of pairs) children.set(parent, [...(children.get(parent) ?? []), child]);
      const found: number[] = [];
      for (let queue = [pid]; queue.length > 0;) {
        const next = children.get(queue.shift() as number) ?? [];
        found.push(...next);
        queue = queue.concat(next);
      }
      resolve(found);
    };
    if (fs.existsSync('/proc/self/stat')) {
      const pairs: Array<[number, number]> = [];
      for (const name of fs.readdirSync('/proc')) {
        if (!/^\d+$/.test(name)) continue;
        try {
          // "pid (comm) state ppid …": comm may hold spaces and parentheses, so read after the last ')'.
          const stat = fs.readFileSync(`/proc/${name}/stat`, 'utf8');
          const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
          pairs.push([Number(name), ppid]);
        } catch {
          // The process exited while we looked.
        }
      }
      walk(pairs);
      return;
    }
    execFile('ps', ['-A', '-o', 'pid=,ppid='], (err, stdout) => {
      if (err) return resolve([]);
      walk(
        stdout
          .trim()
          .split('\n')
          .map((line) => line.trim().split(/\s+/).map(Number) as [number, number])
      );
    });
  });
}

/** Signals the session's process tree, then waits for node-powershell to see its process exit. */
async function endSession(shell: PowerShell, signal: NodeJS.Signals): Promise<void> {
  const pid = sessionPid(shell);
  if (pid !== undefined) {
    if (process.platform === 'win32') {
      // Windows has no signals to ask politely with (node's SIGTERM terminates too): end the tree.
      await new Promise<void>((resolve) => execFile('taskkill', ['/PID', String(pid), '/T', '/F'], () => resolve()));
    } else {
      for (const child of await descendantsOf(pid)) {
        try {
          process.kill(child, signal);
        } catch {
          // Already gone.
        }
      }
    }
  }
  await shell.dispose(signal).catch(() => undefined);
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
    // node-powershell keeps every command and its output in `history`; a long-lived session would grow
    // by the whole script text on every call.
    shell.history.length = 0;
    const next = this.waiting.shift();
    if (next) next(Promise.resolve(shell));
    else this.idle.push(shell);
  }

  /** Kills a session that can no longer be trusted (timed out mid-call, or its process exited). */
  async discard(shell: PowerShell): Promise<void> {
    this.all.delete(shell);
    const next = this.waiting.shift();
    if (next && !this.closed) next(this.spawn());
    await endSession(shell, 'SIGKILL');
  }

  async close(): Promise<void> {
    this.closed = true;
    const shells = [...this.all];
    this.all.clear();
    this.idle.length = 0;
    await Promise.all(shells.map((s) => endSession(s, 'SIGTERM')));
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
      shell.history.length = 0;
      return shell;
    } catch (err) {
      this.all.delete(shell);
      await endSession(shell, 'SIGKILL');
      throw err;
    } finally {
      clearTimeout(timer);
    }
  }
}
