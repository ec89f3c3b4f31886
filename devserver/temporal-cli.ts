/**
 * Finds or builds the Temporal CLI, which embeds the dev server. This machine has no internet, so
 * the SDK's own download cannot work; the Go module proxy can. A cold build takes minutes, so the
 * binary is built once per machine into a cache directory and linked into `.temporal/bin`.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const PINNED_CLI_VERSION = 'v1.5.1';
/** Tried when the pinned build fails; later tags carry a `replace` directive and cannot be `go install`ed. */
const FALLBACK_CLI_VERSION = 'v1.4.1';

export const PROJECT_ROOT = path.resolve(__dirname, '..');
export const TEMPORAL_DIR = path.join(PROJECT_ROOT, '.temporal');

function machineCacheDir(version: string): string {
  const base = process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache');
  return path.join(base, 'exchange-fleet-onboarding', `temporal-${version}`);
}

function works(binary: string): boolean {
  const r = spawnSync(binary, ['--version'], { encoding: 'utf8', timeout: 30_000 });
  return r.status === 0 && /temporal version/.test(r.stdout);
}

function onPath(): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    const candidate = path.join(dir, 'temporal');
    if (dir && fs.existsSync(candidate) && works(candidate)) return candidate;
  }
  return undefined;
}

function linkIntoProject(binary: string): string {
  const dir = path.join(TEMPORAL_DIR, 'bin');
  fs.mkdirSync(dir, { recursive: true });
  const link = path.join(dir, 'temporal');
  fs.rmSync(link, { force: true });
  fs.symlinkSync(binary, link);
  return link;
}

function goInstall(version: string, log: (line: string) => void): string | undefined {
  const go = spawnSync('go', ['version'], { encoding: 'utf8' });
  if (go.status !== 0) return undefined;
  const cache = machineCacheDir(version);
  const staging = `${cache}.building-${process.pid}`;
  fs.mkdirSync(staging, { recursive: true });
  log(`building the Temporal CLI ${version} with go install (once per machine; a cold build takes a few minutes)…`);
  const r = spawnSync('go', ['install', `github.com/temporalio/cli/cmd/temporal@${version}`], {
    env: { ...process.env, GOBIN: staging, GOFLAGS: process.env.GOFLAGS ?? '-buildvcs=false' },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  const built = path.join(staging, 'temporal');
  if (r.status !== 0 || !fs.existsSync(built)) {
    fs.rmSync(staging, { recursive: true, force: true });
    return undefined;
  }
  // Rename is atomic, so a concurrent `npm start` and `npm test` never see half a binary.
  fs.mkdirSync(path.dirname(cache), { recursive: true });
  try {
    fs.renameSync(staging, cache);
  } catch {
    fs.rmSync(staging, { recursive: true, force: true }); // another process won the race
  }
  return path.join(cache, 'temporal');
}

/**
 * Returns a working `temporal` binary: on PATH, already in `.temporal/bin`, in the machine cache,
 * or freshly built. Throws with what to install when none of that is possible.
 */
export function ensureTemporalCli(log: (line: string) => void = console.log): string {
  const fromPath = onPath();
  if (fromPath) return fromPath;
  const local = path.join(TEMPORAL_DIR, 'bin', 'temporal');
  if (fs.existsSync(local) && works(local)) return local;
  for (const version of [PINNED_CLI_VERSION, FALLBACK_CLI_VERSION]) {
    const cached = path.join(machineCacheDir(version), 'temporal');
    if (fs.existsSync(cached) && works(cached)) return linkIntoProject(cached);
  }
  for (const version of [PINNED_CLI_VERSION, FALLBACK_CLI_VERSION]) {
    const built = goInstall(version, log);
    if (built && works(built)) {
      if (version !== PINNED_CLI_VERSION) log(`note: built the fallback Temporal CLI ${version}`);
      return linkIntoProject(built);
    }
  }
  throw new Error(
    'No Temporal CLI found and none could be built. Install one of:\n' +
      '  - the Temporal CLI (https://docs.temporal.io/cli) so `temporal` is on PATH, or\n' +
      `  - Go 1.25 or later, so this project can run: go install github.com/temporalio/cli/cmd/temporal@${PINNED_CLI_VERSION}`
  );
}
