/**
 * The browser the Web UI tests drive: Debian's `chromium` package, through `playwright-core` (a
 * devDependency that never downloads a browser of its own; `npx playwright install` is never run).
 * Installed once per machine with apt when it is missing and this runs as root; otherwise one loud line
 * says the browser tests did not run and how to get them, and under CI that fails the run.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';

/** Where Debian's package puts the browser. */
export const CHROMIUM_PATH = '/usr/bin/chromium';

/**
 * Launch arguments for a machine without a display, a user namespace sandbox or a GPU, and with no
 * calls home (component updates, safe browsing) that would wait on a network the tests do not have.
 */
export const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'];

export interface EnsureBrowserOptions {
  /** true (CI): a browser that is missing and cannot be installed throws. false: one loud line, and null. */
  required: boolean;
  log?: (line: string) => void;
}

/** The browser's version line, or null when it is not there or does not start. */
function chromiumVersion(): string | null {
  if (!fs.existsSync(CHROMIUM_PATH)) return null;
  const r = spawnSync(CHROMIUM_PATH, ['--version', ...CHROMIUM_ARGS], { encoding: 'utf8', timeout: 30_000 });
  return r.status === 0 ? r.stdout.trim() : null;
}

/** Runs apt-get; the output of a failure, or null when it succeeded. */
function aptGet(args: string[]): string | null {
  const r = spawnSync('apt-get', args, {
    encoding: 'utf8',
    env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return r.status === 0 ? null : `apt-get ${args.join(' ')}: ${(r.stderr || r.stdout || String(r.error)).trim()}`;
}

/**
 * Returns the browser's path, installing Debian's `chromium` first when it is missing and this process is
 * root. Without it: throws when `required`, else prints why and returns null (the browser tests skip).
 */
export function ensureChromium(options: EnsureBrowserOptions): string | null {
  const log = options.log ?? ((line: string) => console.log(line));
  if (chromiumVersion()) return CHROMIUM_PATH;

  const root = process.getuid?.() === 0;
  if (root) {
    log(`installing Debian's chromium for the browser tests, once per machine (apt-get install -y chromium)…`);
    const install = ['install', '-y', '--no-install-recommends', 'chromium'];
    // A machine whose package lists were never fetched knows no chromium yet: update once, then retry.
    const failed = aptGet(install) && (aptGet(['update']) ?? aptGet(install));
    if (failed) log(failed);
    const version = chromiumVersion();
    if (version) {
      log(`browser: ${version} (${CHROMIUM_PATH})`);
      return CHROMIUM_PATH;
    }
  }
  const why = root
    ? `Debian's chromium could not be installed (apt-get install -y chromium failed, see above)`
    : `${CHROMIUM_PATH} is missing and only root can install it: run \`sudo apt-get install -y chromium\``;
  if (options.required) throw new Error(`the browser tests need Chromium: ${why}`);
  log(`\n!!! browser tests NOT run: ${why}. (Under CI=true this fails the run.)\n`);
  return null;
}
