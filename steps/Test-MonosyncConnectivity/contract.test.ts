/**
 * Test-MonosyncConnectivity.ps1 and its lab model (lab.ts) agree: for each starting state below, the real
 * script (in pwsh, through the seam bound by test/powershell/LabSeam.psm1) and the lab handler return equal
 * envelopes, call by call, and leave everything as it was (the step only reads).
 *
 * The script runs on the worker and probes the Exchange server over the network, so the machine its seam
 * sees is the worker WITH its view of the network: the Exchange host (LabHost), its AD computer object, the
 * identity the worker runs as and the lab clock. runStepContract (test/support/script-contract.ts) gives a
 * worker-side call the worker alone, so this file builds that view itself and drives the same pwsh driver
 * (test/powershell/Invoke-ContractCase.ps1); each call is compared by the same compareCall.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { before, describe, it } from 'node:test';
import { PROJECT_ROOT } from '../../devserver/temporal-cli';
import type { StepEnvelope } from '../../domain/envelope';
import { contextOf } from '../../domain/onboarding';
import type { JsonValue, ScriptCall } from '../../domain/scripts';
import type { LabEstate } from '../../lab/estate';
import { accountSid, downLevelName } from '../../lab/identity';
import { standaloneScript } from '../../powershell/script-text';
import { validateCall } from '../../runner/contract';
import { quietToolEnv } from '../../scripts/powershell-tools';
import { callFor, estateFor, fleet } from '../../test/lab-fixtures';
import {
  compareCall,
  CONTRACT_FQDN,
  contractPowerShell,
  formatCase,
  WORKER_MACHINE,
  type CallOutcome,
  type CaseOutcome,
  type ContractCall,
  type ContractCase,
} from '../../test/support/script-contract';

const STEP = 'verifyConnectivity';
const SCRIPT = 'Test-MonosyncConnectivity';
const DRIVER = path.join(PROJECT_ROOT, 'test', 'powershell', 'Invoke-ContractCase.ps1');

/** An acceptance run: plan, then apply (the same read-only test). */
const PLAN_APPLY: readonly ContractCall[] = [
  { label: 'plan', mode: 'plan' },
  { label: 'apply (the same test)', mode: 'apply' },
];
const NO_HOP = { delegation: 'skip' };
const rollback = (value: JsonValue): ContractCall[] => [{ label: 'rollback', mode: 'rollback', rollbackTo: { value } }];
const GOOD_STATE = { wsmanHttps: true, kerberosSecondHop: true, servedThumbprint: 'A'.repeat(40) };
const listener = (e: LabEstate, fqdn: string) => {
  const found = e.host(fqdn).listeners.find((l) => l.transport === 'HTTPS');
  assert.ok(found, 'the case starts from a host with an HTTPS listener');
  return found;
};

const CASES: ContractCase[] = [
  { name: 'compliant: an onboarded host answers over HTTPS and delegates', profile: 'onboarded', calls: PLAN_APPLY },
  { name: 'compliant without the second hop (delegation not asked for)', profile: 'onboarded', policy: NO_HOP },
  { name: 'absent: a fresh host has no HTTPS listener', calls: PLAN_APPLY },
  {
    name: 'absent: the winrm-stopped profile (no rule for 5986 either: the firewall answers first)',
    profile: 'winrm-stopped',
  },
  {
    name: 'absent: WinRM stopped on an onboarded host',
    profile: 'onboarded',
    arrange: (e, fqdn) => void (e.host(fqdn).winrm.status = 'Stopped'),
  },
  {
    name: 'absent: the host firewall drops the worker',
    profile: 'onboarded',
    arrange: (e, fqdn) => void (e.host(fqdn).firewall.rules = []),
  },
  {
    name: 'absent: a Group Policy turns local firewall rules off',
    profile: 'onboarded',
    arrange: (e, fqdn) => void (e.host(fqdn).firewall.localRulesApply = false),
  },
  {
    name: 'absent: the HTTPS listener is disabled',
    profile: 'onboarded',
    arrange: (e, fqdn) => void (listener(e, fqdn).enabled = false),
  },
  {
    name: 'partial: HTTPS answers, the computer object is not trusted for delegation',
    profile: 'onboarded',
    arrange: (e) => void (e.computer('EXCH01')!.trustedForDelegation = false),
  },
  {
    name: 'partial: HTTPS answers, the service account is not in Remote Management Users',
    profile: 'onboarded',
    arrange: (e, fqdn) => void (e.host(fqdn).remoteManagementUsers.members = []),
  },
  {
    name: 'partial: constrained delegation only',
    profile: 'onboarded',
    arrange: (e) => {
      const computer = e.computer('EXCH01')!;
      computer.trustedForDelegation = false;
      computer.allowedToDelegateTo = ['cifs/dc01.corp.example'];
    },
  },
  {
    name: 'owned by someone else: the endpoint ACL (a hardening GPO) refuses the group',
    profile: 'onboarded',
    arrange: (e, fqdn) => void (e.host(fqdn).sessionConfiguration.allowsRemoteManagementUsers = false),
  },
  {
    name: 'owned by someone else: Disable-PSRemoting denies network logons',
    profile: 'onboarded',
    arrange: (e, fqdn) => void (e.host(fqdn).sessionConfiguration.networkDenied = true),
  },
  {
    name: 'set by Group Policy: a GPO listener on 5986 serves the machine certificate',
    profile: 'onboarded',
    arrange: (e, fqdn) => void (listener(e, fqdn).source = 'GPO'),
  },
  {
    name: 'conflicting: the listener serves a certificate that does not name the host',
    profile: 'onboarded',
    arrange: (e, fqdn) => {
      const other = e.host(fqdn).certificates.find((c) => c.dnsNames.every((n) => n !== fqdn) && c.hasPrivateKey);
      assert.ok(other, 'the profile has a certificate for another name');
      listener(e, fqdn).thumbprint = other.thumbprint;
    },
  },
  {
    name: 'conflicting: the listener certificate expired',
    profile: 'onboarded',
    arrange: (e, fqdn) => {
      const host = e.host(fqdn);
      const bound = host.certificates.find((c) => c.thumbprint === listener(e, fqdn).thumbprint)!;
      bound.notAfter = new Date(Date.parse(bound.notBefore) + 86_400_000).toISOString();
    },
  },
  {
    name: 'conflicting: the listener certificate was deleted from the store',
    profile: 'onboarded',
    arrange: (e, fqdn) => {
      const host = e.host(fqdn);
      host.certificates = host.certificates.filter((c) => c.thumbprint !== listener(e, fqdn).thumbprint);
    },
  },
  {
    name: 'conflicting: the listener certificate lost its private key',
    profile: 'onboarded',
    arrange: (e, fqdn) => {
      const host = e.host(fqdn);
      host.certificates.find((c) => c.thumbprint === listener(e, fqdn).thumbprint)!.hasPrivateKey = false;
    },
  },
  {
    name: 'conflicting: WinRM answers HTTPS on another port only',
    profile: 'onboarded',
    arrange: (e, fqdn) => void (listener(e, fqdn).port = 443),
  },
  { name: 'rollback without saved state (rollbackTo null) is refused', profile: 'onboarded', calls: rollback(null) },
  {
    name: 'rollback to a partial state is refused',
    profile: 'onboarded',
    calls: rollback({ wsmanHttps: true }),
  },
  {
    name: 'rollback to a hostile state is refused',
    profile: 'onboarded',
    calls: rollback({ ...GOOD_STATE, servedThumbprint: "x'; Remove-Item C:\\ -Recurse; '" }),
  },
  {
    name: 'rollback even to a complete state is refused (a read-only step has nothing to undo)',
    profile: 'onboarded',
    calls: rollback(GOOD_STATE),
  },
  {
    name: 'bad parameters are refused by both: CheckSecondHop as text, a hostile Fqdn',
    profile: 'onboarded',
    calls: [
      {
        label: 'plan',
        mode: 'plan',
        params: { Fqdn: CONTRACT_FQDN, ServiceAccount: 'CORP\\monosync_svc', CheckSecondHop: 'false' },
      },
      {
        label: 'apply',
        mode: 'apply',
        params: { Fqdn: `${CONTRACT_FQDN}\n`, ServiceAccount: 'CORP\\monosync_svc', CheckSecondHop: true },
      },
    ],
  },
];

/** The worker as the script's seam sees it: itself, who it runs as, the lab clock and the host it reaches. */
function workerView(estate: LabEstate, account: string, now: string): unknown {
  const state = estate.toJSON();
  const host = state.hosts[CONTRACT_FQDN];
  const sam = `${host.computerName.toUpperCase()}$`;
  const computer = state.ad.computers[sam];
  return {
    ...WORKER_MACHINE,
    ...state.worker,
    identity: downLevelName(account),
    identitySid: accountSid(account),
    now,
    network: { hosts: { [CONTRACT_FQDN]: host }, computers: computer ? { [sam]: computer } : {} },
  };
}

/** Validated as the runners send it; a call that fails validation is sent as it is (both must refuse it). */
function asTheRunnersSendIt(call: ScriptCall): ScriptCall {
  try {
    return validateCall(call);
  } catch {
    return call;
  }
}

interface DriverResult {
  id: string;
  results: Array<{ output: string[]; machine: unknown; error?: string }>;
}

async function runDriver(pwsh: string, cases: unknown[]): Promise<DriverResult[]> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'connectivity-contract-'));
  const input = path.join(dir, 'cases.json');
  const output = path.join(dir, 'results.json');
  try {
    fs.writeFileSync(input, JSON.stringify({ scripts: { [SCRIPT]: standaloneScript(SCRIPT) }, cases }));
    const args = ['-NoProfile', '-NonInteractive', '-File', DRIVER, '-InputFile', input, '-OutputFile', output];
    const { code, text } = await new Promise<{ code: number | null; text: string }>((resolve, reject) => {
      const child = spawn(pwsh, args, { cwd: PROJECT_ROOT, env: quietToolEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
      let all = '';
      child.stdout.on('data', (d: Buffer) => (all += d.toString('utf8')));
      child.stderr.on('data', (d: Buffer) => (all += d.toString('utf8')));
      child.on('error', reject);
      child.on('close', (status) => resolve({ code: status, text: all }));
    });
    if (code !== 0 || !fs.existsSync(output))
      throw new Error(`the pwsh contract driver failed (exit ${code}):\n${text}`);
    return JSON.parse(fs.readFileSync(output, 'utf8').replace(/^\uFEFF/, '')) as DriverResult[];
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

async function runContract(pwsh: string): Promise<{ cases: CaseOutcome[]; scriptRuns: number; seconds: number }> {
  const prepared = CASES.map((c, index) => {
    const spec = fleet([CONTRACT_FQDN], c.policy ?? {});
    const account = contextOf(spec).serviceAccount;
    const estate = estateFor(spec, { [CONTRACT_FQDN]: c.profile ?? 'fresh' });
    estate.host(CONTRACT_FQDN);
    c.arrange?.(estate, CONTRACT_FQDN);
    const now = estate.now().toISOString();
    const machine = workerView(estate, account, now);
    const calls: CallOutcome[] = [];
    for (const planned of c.calls ?? PLAN_APPLY) {
      const base = callFor(spec, STEP, planned.mode);
      const rollbackTo =
        planned.rollbackTo === undefined || planned.rollbackTo === 'first-plan-before'
          ? undefined
          : planned.rollbackTo.value;
      const call = asTheRunnersSendIt({
        ...base,
        ...(planned.params ? { params: planned.params } : {}),
        ...(rollbackTo !== undefined ? { rollbackTo } : {}),
      });
      const outcome = estate.execute(call);
      if (outcome.kind !== 'envelope') throw new Error(`the lab hung on ${call.script} ${call.mode}`);
      const lab: StepEnvelope = outcome.envelope;
      calls.push({
        label: planned.label,
        call,
        lab,
        labMachine: workerView(estate, account, now),
        scriptOutput: [],
        scriptMachine: null,
      });
    }
    const driverCase = {
      id: String(index),
      script: SCRIPT,
      machine,
      calls: calls.map(({ call }) => ({ mode: call.mode, params: call.params, rollbackTo: call.rollbackTo ?? null })),
    };
    return { name: c.name, calls, driverCase };
  });

  const started = Date.now();
  const results = await runDriver(
    pwsh,
    prepared.map((p) => p.driverCase)
  );
  const seconds = (Date.now() - started) / 1000;
  const cases = prepared.map((p) => {
    const result = results.find((r) => r.id === p.driverCase.id);
    p.calls.forEach((call, i) => {
      const r = result?.results[i];
      call.scriptOutput = r?.output ?? [];
      call.scriptMachine = r?.machine ?? null;
      if (r?.error) call.driverError = r.error;
      if (!r) call.driverError = 'the pwsh driver returned no result for this call';
    });
    return { name: p.name, calls: p.calls, differences: p.calls.flatMap((call) => compareCall(STEP, call)) };
  });
  return { cases, scriptRuns: prepared.reduce((n, p) => n + p.calls.length, 0), seconds };
}

void describe('Test-MonosyncConnectivity: script and lab model agree', () => {
  let run: Awaited<ReturnType<typeof runContract>> | null = null;
  let unavailable = '';

  before(async () => {
    const pwsh = await contractPowerShell();
    if (pwsh === null) {
      unavailable = 'pwsh 7.6.9 is not installed here (needs the .NET SDK); run npm run test:ps once to install it';
      console.log(`\n!!! Test-MonosyncConnectivity contract NOT CHECKED: ${unavailable}\n`);
      return;
    }
    run = await runContract(pwsh);
    console.log(
      `Test-MonosyncConnectivity contract: ${run.cases.length} cases, ${run.scriptRuns} script runs in 1 pwsh process (${run.seconds.toFixed(1)} s)`
    );
  });

  for (const [index, c] of CASES.entries()) {
    void it(c.name, (t) => {
      if (run === null) return t.skip(unavailable);
      const outcome = run.cases[index];
      assert.deepEqual(outcome.differences, [], formatCase(outcome));
    });
  }

  void it('covers every outcome of each probe', (t) => {
    if (run === null) return t.skip(unavailable);
    const seen = (key: string) =>
      new Set(run!.cases.flatMap((c) => c.calls.filter((call) => call.lab.ok).map((call) => call.lab.evidence[key])));
    assert.deepEqual([...seen('tlsError')].sort(), [null, '10061', '10060', 'TlsHandshakeFailed'].sort());
    assert.deepEqual([...seen('wsmanError')].sort(), [null, '0x80338012', '0x80338126', '12175'].sort());
    assert.deepEqual([...seen('secondHopError')].sort(), [null, '5'].sort());
  });
});
