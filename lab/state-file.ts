/**
 * The lab estate file that worker processes share (FLEET_LAB_STATE: the main and the AD worker run as
 * separate processes, and either may be killed at any moment). Every change is a read-modify-write
 * under an exclusive lock file, and the file is replaced atomically (write a temporary file, rename),
 * so no process overwrites another's update and a reader never sees half a file.
 *
 * The lock is a `<file>.lock` holding the owner's pid, created whole (a hard link). A holder that was killed
 * leaves it behind: a lock whose pid no longer runs on this machine, or that is older than
 * `STALE_LOCK_MS` (a pid reused, a lock from another machine), is taken over. Critical sections are
 * synchronous and last milliseconds, so waiting spins with short sleeps rather than watching the file.
 */
import fs from 'node:fs';
import path from 'node:path';

/** Far above any critical section (a parse and a write of the estate), far below a test's patience. */
export const STALE_LOCK_MS = 30_000;
/** Waiting this long for a live holder means something is wrong; say so instead of hanging a worker. */
const LOCK_WAIT_MS = 60_000;

const sleeper = new Int32Array(new SharedArrayBuffer(4));
function sleepSync(ms: number): void {
  Atomics.wait(sleeper, 0, 0, ms);
}

interface LockContent {
  pid: number;
  /** Tells this holder's lock from a later one of the same pid. */
  token: string;
}

function lockPath(file: string): string {
  return `${file}.lock`;
}

function claimPath(lock: string, token: string): string {
  return `${lock}.${token}.claim`;
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it runs, as another user.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function readLock(lock: string): { content: LockContent | null; ageMs: number } | null {
  let text: string;
  let mtimeMs: number;
  try {
    mtimeMs = fs.statSync(lock).mtimeMs;
    text = fs.readFileSync(lock, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
  let content: LockContent | null = null;
  try {
    const parsed = JSON.parse(text) as Partial<LockContent>;
    if (typeof parsed.pid === 'number' && typeof parsed.token === 'string') {
      content = { pid: parsed.pid, token: parsed.token };
    }
  } catch {
    // Created but not yet written (its holder is between open and write), or torn by a kill then.
  }
  return { content, ageMs: Date.now() - mtimeMs };
}

/** Whether the lock's holder is gone: its process has died, or the lock has outlived any real holder. */
function isStale(found: { content: LockContent | null; ageMs: number }): boolean {
  if (found.ageMs > STALE_LOCK_MS) return true;
  // An unreadable lock is only stale by age: its holder may be writing it right now.
  return found.content !== null && found.content.pid !== process.pid && !isRunning(found.content.pid);
}

let tokens = 0;

/**
 * Takes the lock, waiting for a live holder and taking over a dead one's; returns the release.
 *
 * The lock appears with its content at once: it is a hard link to a claim file written first, never a
 * file created empty and written after. A holder killed between those two steps would leave a lock no
 * one can read, taken over only after STALE_LOCK_MS; with the link, a dead holder's lock names its
 * pid and is taken over at once (a SIGKILLed worker must not stall the other for half a minute).
 */
export function acquireLock(file: string): () => void {
  const lock = lockPath(file);
  fs.mkdirSync(path.dirname(path.resolve(lock)), { recursive: true });
  const mine: LockContent = { pid: process.pid, token: `${process.pid}-${Date.now()}-${++tokens}` };
  const claim = claimPath(lock, mine.token);
  fs.writeFileSync(claim, JSON.stringify(mine));
  const deadline = Date.now() + LOCK_WAIT_MS;
  try {
    for (let attempt = 0; ; attempt++) {
      try {
        fs.linkSync(claim, lock);
        return () => releaseLock(lock, mine);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      }
      const found = readLock(lock);
      if (found && isStale(found)) {
        // Remove it only if it is still the stale lock just judged: another waiter may have taken over
        // already and created its own in between.
        const again = readLock(lock);
        if (again && again.content?.token === found.content?.token) {
          fs.rmSync(lock, { force: true });
          // The dead holder's claim, if it was killed before removing it.
          if (found.content) fs.rmSync(claimPath(lock, found.content.token), { force: true });
        }
        continue;
      }
      if (Date.now() > deadline) {
        throw new Error(
          `lab state ${file}: still locked by pid ${found?.content?.pid ?? '?'} after ${LOCK_WAIT_MS} ms`
        );
      }
      sleepSync(Math.min(1 + attempt, 10));
    }
  } finally {
    // The lock (if taken) is the other link to the same file: it stays.
    fs.rmSync(claim, { force: true });
  }
}

function releaseLock(lock: string, mine: LockContent): void {
  // After a takeover (this process stalled past STALE_LOCK_MS) the lock is another's: leave it.
  const found = readLock(lock);
  if (found?.content?.token === mine.token) fs.rmSync(lock, { force: true });
}

/** Replaces `file` with `text` atomically: readers see the old or the new file, never part of one. */
export function writeFileAtomically(file: string, text: string): void {
  fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  const tmp = `${file}.${process.pid}.${Date.now()}.${++tokens}.tmp`;
  try {
    fs.writeFileSync(tmp, text);
    fs.renameSync(tmp, file);
  } catch (err) {
    fs.rmSync(tmp, { force: true });
    throw err;
  }
}

/**
 * Runs `change` on the file's current text (null when there is none yet) under the lock and writes what
 * it returns (nothing when it returns undefined). Returns `change`'s answer.
 */
export function updateStateFile<T>(file: string, change: (text: string | null) => { text?: string; value: T }): T {
  const release = acquireLock(file);
  try {
    const text = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : null;
    const out = change(text);
    if (out.text !== undefined) writeFileAtomically(file, out.text);
    return out.value;
  } finally {
    release();
  }
}

/** Replaces the whole file with `text` under the lock: a process in the middle of a change finishes first. */
export function replaceStateFile(file: string, text: string): void {
  updateStateFile(file, () => ({ text, value: undefined }));
}
