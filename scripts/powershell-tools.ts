/**
 * Finds or installs the tools the PowerShell tests need: PowerShell 7.6.9 as a .NET tool and the
 * Pester 5.7.1 module from NuGet (the PowerShell Gallery is not reachable from every machine). Both
 * are installed once per machine into the cache the Temporal CLI uses
 * (`$XDG_CACHE_HOME` or `~/.cache`, then `exchange-fleet-onboarding/`):
 *
 *   pwsh-7.6.9/pwsh                      `dotnet tool install --tool-path` (never a global tool)
 *   pwsh-7.6.9/.store/…
 *   pester-5.7.1/pester/5.7.1/tools/Pester.psd1   `dotnet restore --packages` of a throw-away project
 *   <each>/.fleet-installed              written last: the install is complete and verified
 *
 * Each tool is installed into a staging folder next to its final place, verified, stamped and then
 * renamed into place: a rename is atomic, so two runs at once never see half a tool (the slower one
 * throws its copy away). When the stamps exist nothing is started and nothing touches the network.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export const PWSH_VERSION = '7.6.9';
export const PESTER_VERSION = '5.7.1';
const STAMP = '.fleet-installed';

export interface PowerShellTools {
  /** The pwsh executable (the .NET tool's shim). */
  pwsh: string;
  /** Pester's module manifest, for `Import-Module`. */
  pesterModule: string;
}

export interface EnsureOptions {
  /**
   * true (CI): a missing `dotnet` or a failed install throws. false: prints one loud line saying the
   * PowerShell tests were not run and how to get them, and returns null.
   */
  required: boolean;
  log?: (line: string) => void;
}

/** The machine cache; the same base folder as `devserver/temporal-cli.ts`. */
export function toolsCacheDir(): string {
  const base = process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache');
  return path.join(base, 'exchange-fleet-onboarding');
}

/** Environment for every dotnet/pwsh call: no telemetry, no update check, no first-run banner. */
export function quietToolEnv(env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  return {
    ...env,
    DOTNET_CLI_TELEMETRY_OPTOUT: '1',
    DOTNET_NOLOGO: '1',
    DOTNET_SKIP_FIRST_TIME_EXPERIENCE: '1',
    POWERSHELL_TELEMETRY_OPTOUT: '1',
    POWERSHELL_UPDATECHECK: 'Off',
  };
}

interface RunResult {
  status: number | null;
  output: string;
  /** Set when the program could not be started at all (ENOENT: not installed). */
  spawnError?: NodeJS.ErrnoException;
}

function run(cmd: string, args: string[], cwd: string): Promise<RunResult> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { cwd, env: quietToolEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString('utf8')));
    child.stderr.on('data', (d: Buffer) => (output += d.toString('utf8')));
    child.on('error', (spawnError: NodeJS.ErrnoException) => resolve({ status: null, output, spawnError }));
    child.on('close', (status) => resolve({ status, output }));
  });
}

/** Why the tools cannot be had, and what a person does about it. */
class ToolsUnavailable extends Error {
  constructor(
    message: string,
    readonly fix = 'check that NuGet is reachable (`dotnet nuget list source`) and run npm test again'
  ) {
    super(message);
  }
}

function readStamp(dir: string): string | undefined {
  try {
    return fs.readFileSync(path.join(dir, STAMP), 'utf8').trim();
  } catch {
    return undefined;
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Removes staging folders of `final` left behind by runs that died (their process is gone). */
function removeAbandonedStaging(final: string): void {
  const parent = path.dirname(final);
  const prefix = `${path.basename(final)}.installing-`;
  for (const name of fs.existsSync(parent) ? fs.readdirSync(parent) : []) {
    const pid = Number(name.startsWith(prefix) ? name.slice(prefix.length).split('-')[0] : NaN);
    if (Number.isInteger(pid) && pid !== process.pid && !isAlive(pid)) {
      fs.rmSync(path.join(parent, name), { recursive: true, force: true });
    }
  }
}

/**
 * Installs into a fresh staging folder with `fill` (which returns the stamp text: the tool's path
 * relative to the folder), then renames the folder to `final`. Returns the stamp of whatever ended up
 * at `final` (ours, or a concurrent run's).
 */
async function installAtomically(final: string, fill: (staging: string) => Promise<string>): Promise<string> {
  fs.mkdirSync(path.dirname(final), { recursive: true });
  removeAbandonedStaging(final);
  const staging = `${final}.installing-${process.pid}-${Date.now()}`;
  fs.rmSync(staging, { recursive: true, force: true });
  try {
    const stamp = await fill(staging);
    fs.writeFileSync(path.join(staging, STAMP), `${stamp}\n`);
    if (fs.existsSync(final) && readStamp(final) === undefined) {
      // An unstamped folder is not ours to trust (an interrupted manual copy?): move it aside first.
      const aside = `${final}.installing-${process.pid}-stale`;
      fs.renameSync(final, aside);
      fs.rmSync(aside, { recursive: true, force: true });
    }
    try {
      fs.renameSync(staging, final);
    } catch (err) {
      const won = readStamp(final); // a concurrent run renamed its copy first: use that one
      if (won === undefined) throw err;
    }
  } finally {
    fs.rmSync(staging, { recursive: true, force: true });
  }
  const stamp = readStamp(final);
  if (stamp === undefined) throw new ToolsUnavailable(`${final} has no ${STAMP} after installing`);
  return stamp;
}

function failure(what: string, r: RunResult): ToolsUnavailable {
  const tail = r.output.trim().split('\n').slice(-15).join('\n');
  return new ToolsUnavailable(`${what} failed (exit ${r.status ?? 'none'})\n${tail}`);
}

async function pwshVersion(pwsh: string, cwd: string): Promise<RunResult> {
  return run(pwsh, ['-NoProfile', '-NonInteractive', '-Command', '$PSVersionTable.PSVersion.ToString()'], cwd);
}

async function installPwsh(final: string, scratch: string, log: (line: string) => void): Promise<string> {
  log(`installing PowerShell ${PWSH_VERSION} (dotnet tool, once per machine) into ${final}…`);
  return installAtomically(final, async (staging) => {
    const args = ['tool', 'install', 'PowerShell', '--version', PWSH_VERSION, '--tool-path', staging];
    const r = await run('dotnet', args, scratch);
    if (r.status !== 0) throw failure(`dotnet tool install PowerShell --version ${PWSH_VERSION}`, r);
    const shim = process.platform === 'win32' ? 'pwsh.exe' : 'pwsh';
    const v = await pwshVersion(path.join(staging, shim), scratch);
    if (v.status !== 0 || v.output.trim() !== PWSH_VERSION) {
      throw failure(`starting the freshly installed pwsh (expected version ${PWSH_VERSION})`, v);
    }
    return shim;
  });
}

function findManifest(dir: string): string | undefined {
  const found = fs
    .readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((f) => path.basename(f).toLowerCase() === 'pester.psd1')
    .sort((a, b) => a.length - b.length);
  return found[0];
}

async function installPester(final: string, scratch: string, pwsh: string, log: (line: string) => void) {
  log(`installing Pester ${PESTER_VERSION} (NuGet package, once per machine) into ${final}…`);
  return installAtomically(final, async (staging) => {
    // A throw-away project whose restore downloads the package: the PowerShell Gallery is not reachable,
    // nuget.org (or the machine's configured NuGet feed) is.
    const project = path.join(scratch, 'pester-restore.csproj');
    fs.writeFileSync(
      project,
      [
        '<Project Sdk="Microsoft.NET.Sdk">',
        '  <PropertyGroup><TargetFramework>netstandard2.0</TargetFramework><DisableImplicitFrameworkReferences>true</DisableImplicitFrameworkReferences></PropertyGroup>',
        `  <ItemGroup><PackageDownload Include="Pester" Version="[${PESTER_VERSION}]" /></ItemGroup>`,
        '</Project>',
        '',
      ].join('\n')
    );
    const args = ['restore', project, '--packages', staging, '--verbosity', 'quiet'];
    const r = await run('dotnet', args, scratch);
    if (r.status !== 0) throw failure(`dotnet restore of the Pester ${PESTER_VERSION} package`, r);
    const manifest = findManifest(staging);
    if (manifest === undefined) throw new ToolsUnavailable(`no Pester.psd1 in the restored package (${staging})`);
    const probe = `(Import-Module -Name '${path.join(staging, manifest).replace(/'/g, "''")}' -PassThru).Version.ToString()`;
    const v = await run(pwsh, ['-NoProfile', '-NonInteractive', '-Command', probe], scratch);
    if (v.status !== 0 || v.output.trim() !== PESTER_VERSION) {
      throw failure(`importing the restored Pester (expected version ${PESTER_VERSION})`, v);
    }
    return manifest;
  });
}

async function install(cache: string, log: (line: string) => void): Promise<PowerShellTools> {
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'fleet-pwsh-tools-'));
  try {
    const probe = await run('dotnet', ['--version'], scratch);
    if (probe.spawnError?.code === 'ENOENT') {
      throw new ToolsUnavailable(
        'no `dotnet` on PATH',
        `install the .NET SDK 10 (https://dotnet.microsoft.com/download) and run npm test again: it installs ` +
          `PowerShell ${PWSH_VERSION} and Pester ${PESTER_VERSION} once into ${cache}`
      );
    }
    if (probe.status !== 0) throw failure('dotnet --version', probe);

    const pwshDir = path.join(cache, `pwsh-${PWSH_VERSION}`);
    const pwshStamp = readStamp(pwshDir) ?? (await installPwsh(pwshDir, scratch, log));
    const pwsh = path.join(pwshDir, pwshStamp);
    const pesterDir = path.join(cache, `pester-${PESTER_VERSION}`);
    const pesterStamp = readStamp(pesterDir) ?? (await installPester(pesterDir, scratch, pwsh, log));
    return { pwsh, pesterModule: path.join(pesterDir, pesterStamp) };
  } finally {
    fs.rmSync(scratch, { recursive: true, force: true });
  }
}

/** The tools when both stamps and the files they name exist: no process, no network. */
function installed(cache: string): PowerShellTools | undefined {
  const pwshDir = path.join(cache, `pwsh-${PWSH_VERSION}`);
  const pesterDir = path.join(cache, `pester-${PESTER_VERSION}`);
  const pwshStamp = readStamp(pwshDir);
  const pesterStamp = readStamp(pesterDir);
  if (pwshStamp === undefined || pesterStamp === undefined) return undefined;
  const tools = { pwsh: path.join(pwshDir, pwshStamp), pesterModule: path.join(pesterDir, pesterStamp) };
  return fs.existsSync(tools.pwsh) && fs.existsSync(tools.pesterModule) ? tools : undefined;
}

/**
 * pwsh and Pester from the machine cache, installed there first when missing. Returns null (after one
 * loud line) when they cannot be had and `required` is false; throws when `required` is true.
 */
export async function ensurePowerShellTools(options: EnsureOptions): Promise<PowerShellTools | null> {
  const log = options.log ?? console.log;
  const cache = toolsCacheDir();
  const ready = installed(cache);
  if (ready) return ready;
  try {
    return await install(cache, log);
  } catch (err) {
    if (!(err instanceof ToolsUnavailable)) throw err;
    if (options.required) {
      throw new Error(`PowerShell tools unavailable: ${err.message}\nTo fix: ${err.fix}`, { cause: err });
    }
    const [reason, ...details] = err.message.split('\n');
    console.error(
      `\n!!! POWERSHELL TESTS NOT RUN (${reason}): to run them, ${err.fix} (npm run test:ps runs them alone)`
    );
    for (const line of details) console.error(`    ${line}`);
    return null;
  }
}
