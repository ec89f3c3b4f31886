/**
 * The production runner (node-powershell sessions, pool, timeout, stderr classification, parameter
 * passing, UTF-8, the credential) against REAL pwsh 7.6.9 — not the stand-in of test/fixtures/fake-pwsh.
 *
 * There is no WinRM here. Worker-target calls run in the local session exactly as in production; for
 * remote targets the runner's real command text runs too, with `Invoke-Command` replaced by a stand-in
 * that runs the block in the same session. The Windows-only operations the scripts call (WSMan:, the
 * policy registry) are replaced by test/fixtures/real-pwsh/config/powershell/profile.ps1, which the
 * runner's `executable` (test/fixtures/real-pwsh/pwsh) loads into each real pwsh; that profile also puts
 * the console on code page 850, as Windows does. No production code has a test hook for any of this.
 *
 * Without pwsh (and no `dotnet` to install it) the tests skip with a loud line; under CI they fail.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it, type TestContext } from 'node:test';
import { PowerShell } from 'node-powershell';
import type { ScriptCall } from '../domain/scripts';
import { NodePowerShellRunner, type NodePowerShellRunnerOptions } from '../powershell/node-powershell-runner';
import { ScriptFailure } from '../runner/port';
import { ensurePowerShellTools, quietToolEnv, type PowerShellTools } from '../scripts/powershell-tools';

const WRAPPER = path.join(__dirname, 'fixtures', 'real-pwsh', 'pwsh');
const FQDN = 'exch01.corp.example';
const USER = 'CORP\\onboard_admin';
/** Not ASCII either, so that its way through the environment into a PSCredential is tested too. */
const PASSWORD = 'Pa55-wörd-§-never-shown';
const LOCALISED_GROUPS = [
  'Utilisateurs de gestion à distance',
  'Remoteverwaltungsbenutzer',
  'Usuarios de administración remota',
];

const worker = { host: 'worker' as const, onBehalfOf: FQDN };
const cbt = (mode: ScriptCall['mode'], target: ScriptCall['target'] = worker): ScriptCall => ({
  script: 'Set-CbtHardening',
  mode,
  params: { Level: 'Strict' },
  target,
});
const trustedHosts: ScriptCall = {
  script: 'Set-TrustedHosts',
  mode: 'plan',
  params: { Entries: [FQDN] },
  target: worker,
};

async function failureOf(promise: Promise<unknown>, type: string): Promise<ScriptFailure> {
  try {
    await promise;
  } catch (err) {
    assert.ok(err instanceof ScriptFailure, `expected a ScriptFailure, got ${String(err)}`);
    assert.equal(err.kind.type, type, err.message);
    return err;
  }
  assert.fail(`expected a ${type} failure`);
}

// --- processes, from /proc --------------------------------------------------------------------------

interface Proc {
  pid: number;
  ppid: number;
  state: string;
  cmdline: Buffer;
}

function processes(): Proc[] {
  const found: Proc[] = [];
  for (const name of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${name}/stat`, 'utf8');
      const [state, ppid] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      found.push({ pid: Number(name), ppid: Number(ppid), state, cmdline: fs.readFileSync(`/proc/${name}/cmdline`) });
    } catch {
      // exited meanwhile
    }
  }
  return found;
}

/** Live (not zombie) descendants of this test process. */
function descendants(): Proc[] {
  const all = processes().filter((p) => p.state !== 'Z');
  const mine = new Set([process.pid]);
  for (let grew = true; grew;) {
    grew = false;
    for (const p of all) {
      if (!mine.has(p.pid) && mine.has(p.ppid)) {
        mine.add(p.pid);
        grew = true;
      }
    }
  }
  return all.filter((p) => p.pid !== process.pid && mine.has(p.pid));
}

const text = (p: Proc) => p.cmdline.toString('utf8').replace(/\0/g, ' ');
/** The processes of the pwsh sessions: the .NET tool's launcher and PowerShell itself (pwsh.dll). */
const sessionProcesses = () => descendants().filter((p) => /pwsh/.test(text(p)));

function isAlive(pid: number): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

async function eventually(check: () => boolean, what: string, ms = 10_000): Promise<void> {
  const until = Date.now() + ms;
  while (!check()) {
    if (Date.now() > until) assert.fail(`${what} (waited ${ms} ms)`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

// -----------------------------------------------------------------------------------------------------

void describe('NodePowerShellRunner against real pwsh (local transport)', () => {
  let tools: PowerShellTools | null = null;
  let dir: string;
  const runners: NodePowerShellRunner[] = [];
  const commands: string[] = [];
  /** Everything the runner handed back (envelopes, failure messages): none may hold the password. */
  const seen: string[] = [];
  const previous = process.env.NODE_POWERSHELL;
  const timings: string[] = [];

  const skipped = (t: TestContext): boolean => {
    if (tools) return false;
    t.skip('no pwsh on this machine (see the loud line above)');
    return true;
  };

  /** A runner over real pwsh; the credential comes from FLEET_ADMIN_* as in production. */
  const runner = (env: NodeJS.ProcessEnv = {}, options: Partial<NodePowerShellRunnerOptions> = {}) => {
    assert.ok(tools);
    const created = new NodePowerShellRunner({
      executable: WRAPPER,
      env: {
        ...quietToolEnv(process.env),
        REAL_PWSH: tools.pwsh,
        FLEET_ADMIN_USER: USER,
        FLEET_ADMIN_PASSWORD: PASSWORD,
        REAL_PWSH_EXPECT_USER: USER,
        REAL_PWSH_EXPECT_PASSWORD_SHA256: createHash('sha256').update(PASSWORD, 'utf8').digest('hex'),
        ...env,
      },
      timeoutMs: 30_000,
      poolSize: 1,
      onCommand: (c) => commands.push(c),
      ...options,
    });
    runners.push(created);
    return created;
  };
  const run = async (r: NodePowerShellRunner, call: ScriptCall) => {
    const envelope = await r.run(call);
    seen.push(JSON.stringify(envelope));
    return envelope;
  };
  const fails = async (r: NodePowerShellRunner, call: ScriptCall, type: string) => {
    const failure = await failureOf(r.run(call), type);
    seen.push(failure.message, JSON.stringify(failure.detail));
    return failure;
  };
  const timed = async <T>(label: string, work: () => Promise<T>): Promise<T> => {
    const started = Date.now();
    try {
      return await work();
    } finally {
      timings.push(`${label}: ${Date.now() - started} ms`);
    }
  };

  before(async () => {
    delete process.env.NODE_POWERSHELL; // it would override the runner's executable
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ps-runner-real-'));
    if (process.platform === 'win32') {
      console.error('\n!!! REAL-PWSH RUNNER TESTS NOT RUN: their pwsh wrapper is a POSIX shell script\n');
      return;
    }
    tools = await ensurePowerShellTools({ required: process.env.CI === 'true' });
    if (!tools) {
      console.error(
        '\n!!! REAL-PWSH RUNNER TESTS SKIPPED: no pwsh; they test the production runner against real pwsh\n'
      );
    }
  });

  after(async () => {
    await Promise.all(runners.map((r) => r.close()));
    if (previous !== undefined) process.env.NODE_POWERSHELL = previous;
    fs.rmSync(dir, { recursive: true, force: true });
    if (timings.length > 0) console.log(`real pwsh timings: ${timings.join('; ')}`);
  });

  void it('runs a worker-target call in the local session: plan, apply, then compliant', async (t) => {
    if (skipped(t)) return;
    const r = runner();
    const plan = await timed('first call (session start + call)', () => run(r, cbt('plan')));
    assert.equal(plan.ok, true);
    assert.equal(plan.script, 'Set-CbtHardening');
    assert.equal(plan.changed, true);
    assert.equal(plan.compliant, false);
    assert.deepEqual(plan.before, { level: 'Relaxed', policyControlled: false });
    assert.deepEqual(plan.after, { level: 'Strict', policyControlled: false });

    const applied = await timed('call on a warm session', () => run(r, cbt('apply')));
    assert.equal(applied.changed, true);
    assert.deepEqual(applied.after, { level: 'Strict', policyControlled: false });
    const again = await run(r, cbt('plan'));
    assert.equal(again.compliant, true);
    assert.equal(again.changed, false);
  });

  void it('runs a remote-target call: the real command text, the credential read inside the session', async (t) => {
    if (skipped(t)) return;
    // Invoke-Command's stand-in checks the user and (by hash) the password it is given.
    const envelope = await run(runner(), cbt('plan', { host: 'exchange', fqdn: FQDN }));
    assert.equal(envelope.ok, true);
    assert.deepEqual(envelope.before, { level: 'Relaxed', policyControlled: false });
    const wrong = runner({ REAL_PWSH_EXPECT_PASSWORD_SHA256: createHash('sha256').update('other').digest('hex') });
    const failure = await fails(wrong, cbt('plan', { host: 'exchange', fqdn: FQDN }), 'CredentialsRejected');
    assert.match(failure.message, /user name or password is incorrect/);
  });

  void it('turns a script error like Windows’ access denied (0x80070005) into AccessDenied', async (t) => {
    if (skipped(t)) return;
    const failure = await fails(runner({ REAL_PWSH_SCENARIO: 'AccessDenied' }), cbt('plan'), 'AccessDenied');
    assert.equal(failure.detail.code, '5');
    assert.match(failure.message, /Access is denied\./);
  });

  void it('classifies an error record on stderr by its FullyQualifiedErrorId when the message is French', async (t) => {
    if (skipped(t)) return;
    const r = runner({ REAL_PWSH_SCENARIO: 'RemoteAccessDeniedFr' });
    const failure = await fails(r, cbt('plan', { host: 'exchange', fqdn: FQDN }), 'AccessDenied');
    // Only the code in "FullyQualifiedErrorId : AccessDenied,PSSessionStateBroken" says what happened.
    assert.match(failure.message, /FullyQualifiedErrorId : AccessDenied,PSSessionStateBroken/);
    assert.match(failure.message, /a échoué avec le message d’erreur suivant : Accès refusé\./);
    for (const unwanted of ['\u001B', '\uFFFD']) {
      assert.ok(!failure.message.includes(unwanted), 'no terminal sequences, no undecodable bytes');
    }
    // An error record leaves the session usable.
    await fails(r, cbt('plan', { host: 'exchange', fqdn: FQDN }), 'AccessDenied');
  });

  void it('brings localised names back intact (UTF-8 out of a console on code page 850)', async (t) => {
    if (skipped(t)) return;
    const envelope = await run(runner({ REAL_PWSH_SCENARIO: 'Localised' }), trustedHosts);
    assert.deepEqual(envelope.before, { value: LOCALISED_GROUPS.join(','), policyControlled: false });
    assert.deepEqual(envelope.after, { value: [...LOCALISED_GROUPS, FQDN].join(','), policyControlled: false });
    const french = await fails(runner({ REAL_PWSH_SCENARIO: 'AccessDeniedFr' }), cbt('plan'), 'AccessDenied');
    assert.match(french.message, /: Accès refusé\.$/);
    // Every command is printable ASCII: values travel as base64 of UTF-8, whatever the input code page.
    assert.ok(commands.length > 0);
    for (const command of commands) assert.match(command, /^[\x20-\x7E]+$/);
  });

  void it('needs that UTF-8 setting: the same session without the runner mangles the names', async (t) => {
    if (skipped(t)) return;
    assert.ok(tools);
    const shell = new PowerShell({
      executable: WRAPPER,
      spawnOptions: { env: { ...quietToolEnv(process.env), REAL_PWSH: tools.pwsh, TERM: 'dumb' } },
    });
    try {
      const result = await shell.invoke(`'${LOCALISED_GROUPS[0]}'`);
      assert.notEqual(result.raw, LOCALISED_GROUPS[0]);
      assert.match(result.raw, /\uFFFD/, 'code page 850 bytes are not UTF-8');
    } finally {
      await shell.dispose().catch(() => undefined);
    }
  });

  void it('kills a hung call with its process tree, replaces the session and leaks nothing', async (t) => {
    if (skipped(t)) return;
    const others = new Set(sessionProcesses().map((p) => p.pid)); // earlier tests' sessions
    const mine = () => sessionProcesses().filter((p) => !others.has(p.pid));
    // Long enough for a first call on a loaded machine, short enough to keep the test quick.
    const timeoutMs = 6000;
    const r = runner({ REAL_PWSH_HANG_ONCE: path.join(dir, 'hang-once') }, { timeoutMs });
    await run(r, cbt('plan'));
    const before = mine().map((p) => p.pid);
    assert.ok(before.length >= 1, 'the session runs');

    fs.writeFileSync(path.join(dir, 'hang-once'), '');
    const started = Date.now();
    const hung = fails(r, cbt('plan'), 'WinRMTimeout');
    let sleeper: number | undefined;
    await eventually(() => {
      sleeper = descendants().find((p) => /^\S*sleep 600 $/.test(text(p)))?.pid;
      return sleeper !== undefined;
    }, 'the script started `sleep 600`');
    const failure = await hung;
    const took = Date.now() - started;
    timings.push(`hung call failed after ${took} ms (timeout ${timeoutMs} ms)`);
    assert.ok(took >= timeoutMs && took < timeoutMs + 5000, `the timeout fired at ${took} ms`);
    assert.equal(failure.detail.code, 'Timeout');
    for (const pid of [...before, sleeper as number]) {
      await eventually(() => !isAlive(pid), `process ${pid} of the timed-out session is dead`);
    }

    const next = await timed('call on the replacement session', () => run(r, cbt('plan')));
    assert.equal(next.ok, true);
    const now = mine();
    assert.equal(now.filter((p) => before.includes(p.pid)).length, 0, 'the old session is gone');
    assert.equal(now.length, before.length, `one replacement session, not more: ${now.map(text).join(' | ')}`);
  });

  void it('keeps the password out of process arguments, command text, output, errors and child programs', async (t) => {
    if (skipped(t)) return;
    const r = runner({ REAL_PWSH_SCENARIO: 'ChildEnv', REAL_PWSH_CANARY: 'visible-to-children' });
    const envelope = await run(r, cbt('plan'));
    // What `env`, started by the script, saw: the environment is there, the credential is not.
    const childEnv = String((envelope.before as { level: string }).level);
    assert.match(childEnv, /^REAL_PWSH_CANARY=visible-to-children$/m, 'the script really ran env');
    assert.doesNotMatch(childEnv, /MONOSYNC_ONBOARDING_ADMIN|FLEET_ADMIN_PASSWORD|MONOSYNC_PASSWORD/);
    assert.ok(!childEnv.includes(PASSWORD));
    // The session still holds the credential (read before the variables went): a remote call works.
    assert.equal((await run(r, cbt('plan', { host: 'exchange', fqdn: FQDN }))).ok, true);

    const sessions = sessionProcesses();
    assert.ok(sessions.length > 0);
    for (const p of sessions) {
      assert.ok(!p.cmdline.includes(Buffer.from(PASSWORD, 'utf8')), `password in the arguments of ${text(p)}`);
      assert.match(text(p), /-NonInteractive/);
    }
    assert.ok(commands.length > 0);
    for (const command of commands) assert.ok(!command.includes(PASSWORD), 'password in a command');
    assert.ok(seen.length > 0);
    for (const shown of seen) assert.ok(!shown.includes(PASSWORD), `password in ${shown.slice(0, 200)}`);
  });

  void it('leaves no pwsh process behind once the runners are closed', async (t) => {
    if (skipped(t)) return;
    const pids = sessionProcesses().map((p) => p.pid);
    assert.ok(pids.length > 0);
    await timed('closing the runners', () => Promise.all(runners.map((r) => r.close())));
    for (const pid of pids) await eventually(() => !isAlive(pid), `process ${pid} ended after close`);
    assert.deepEqual(sessionProcesses().map(text), []);
  });
});
