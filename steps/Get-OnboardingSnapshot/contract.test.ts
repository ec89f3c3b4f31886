/**
 * Get-OnboardingSnapshot.ps1 and its lab model (lab.ts) agree: for each starting state below, the real script
 * (in pwsh, through the seam bound to the lab's JSON host by test/powershell/LabSeam.psm1) and the lab handler
 * return equal envelopes and leave the host as it was (the step only reads). See
 * test/support/script-contract.ts for what is compared.
 *
 * And the snapshot reads what the steps read: on the same starting states, each part of the snapshot the
 * script prints equals the `before` that step's own script prints in a plan (and the lab's).
 */
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { isDeepStrictEqual } from 'node:util';
import type { JsonValue } from '../../domain/scripts';
import type { StepId } from '../../domain/steps';
import type { LabEstate } from '../../lab/estate';
import {
  contractPowerShell,
  formatCase,
  runStepContract,
  type CaseOutcome,
  type ContractCall,
  type ContractCase,
  type ContractRun,
} from '../../test/support/script-contract';

const PLAN_APPLY: readonly ContractCall[] = [
  { label: 'plan', mode: 'plan' },
  { label: 'apply (the same read)', mode: 'apply' },
];
const rollback = (value: JsonValue): ContractCall[] => [{ label: 'rollback', mode: 'rollback', rollbackTo: { value } }];
const httpsListener = (e: LabEstate, fqdn: string) => {
  const found = e.host(fqdn).listeners.find((l) => l.transport === 'HTTPS');
  assert.ok(found, 'the case starts from a host with an HTTPS listener');
  return found;
};
const rule = (e: LabEstate, fqdn: string) => {
  const found = e.host(fqdn).firewall.rules.find((r) => r.name === 'Monosync-WinRM-In');
  assert.ok(found, 'the case starts from a host with the Monosync rule');
  return found;
};
/** Policies the steps' plans succeed under on these hosts, so each has a `before` to compare. */
const POLICY = { cbtHardeningLevel: 'Relaxed' };

/** Starting states; those marked `steps` also have each step's plan compared part by part. */
const STATES: Array<ContractCase & { steps?: boolean }> = [
  { name: 'compliant: an onboarded host', profile: 'onboarded', steps: true },
  { name: 'absent: a fresh host (nothing onboarded yet)', steps: true },
  {
    name: 'partial: onboarded but the account left Remote Management Users and the rule is gone',
    profile: 'onboarded',
    steps: true,
    arrange: (e, fqdn) => {
      const host = e.host(fqdn);
      host.remoteManagementUsers.members = [];
      host.firewall.rules = host.firewall.rules.filter((r) => r.name !== 'Monosync-WinRM-In');
    },
  },
  { name: 'partial: an expiring listener certificate', profile: 'expiring-cert', steps: true },
  { name: 'localized: the group is Remoteverwaltungsbenutzer', profile: 'german', steps: true },
  { name: 'set by Group Policy: CbtHardeningLevel', profile: 'gpo-cbt', steps: true },
  {
    name: 'set by Group Policy: TrustedHosts, and a GPO listener',
    profile: 'onboarded',
    // The GPO's list is what the fleet asks for, so that step's plan succeeds and reports its before.
    policy: { trustedHosts: { applyOn: 'exchange', value: ['gpo.corp.example'] } },
    steps: true,
    arrange: (e, fqdn) => {
      e.host(fqdn).trustedHosts = { value: 'gpo.corp.example', policyControlled: true };
      httpsListener(e, fqdn).source = 'GPO';
    },
  },
  {
    name: "set by Group Policy: 'Allow remote server management through WinRM' with an empty IPv4 filter",
    profile: 'gpo-winrm-ipv4-filter',
  },
  { name: "set by Group Policy: 'System Services' sets WinRM Disabled", profile: 'gpo-winrm-service' },
  {
    name: 'conflicting: the endpoint ACL leaves out the group and denies network logons',
    profile: 'onboarded',
    steps: true,
    arrange: (e, fqdn) =>
      void (e.host(fqdn).sessionConfiguration = {
        endpointsEnabled: false,
        allowsRemoteManagementUsers: false,
        networkDenied: true,
      }),
  },
  {
    name: 'conflicting: the listener certificate is gone from the store',
    profile: 'onboarded',
    arrange: (e, fqdn) => {
      const host = e.host(fqdn);
      host.certificates = host.certificates.filter((c) => c.thumbprint !== httpsListener(e, fqdn).thumbprint);
    },
  },
  {
    name: 'conflicting: the rule is open to any address on any port',
    profile: 'onboarded',
    steps: true,
    arrange: (e, fqdn) => {
      const found = rule(e, fqdn);
      found.localPorts = [];
      found.remoteAddresses = ['Any'];
      found.enabled = false;
    },
  },
  {
    name: 'one-element and empty lists: one port, one address, a certificate without DNS names',
    profile: 'onboarded',
    steps: true,
    arrange: (e, fqdn) => {
      const found = rule(e, fqdn);
      found.localPorts = [5986];
      found.remoteAddresses = ['10.0.0.10'];
      const host = e.host(fqdn);
      const bound = host.certificates.find((c) => c.thumbprint === httpsListener(e, fqdn).thumbprint);
      assert.ok(bound);
      bound.dnsNames = [];
    },
  },
  {
    name: 'several listeners, one of them disabled',
    profile: 'onboarded',
    steps: true,
    arrange: (e, fqdn) => void (e.host(fqdn).listeners[0].enabled = false),
  },
  { name: 'not applicable: an Edge Transport server (no domain)', profile: 'edge', calls: PLAN_APPLY },
  {
    name: 'not applicable: a domain controller',
    profile: 'onboarded',
    arrange: (e, fqdn) => void (e.host(fqdn).isDomainController = true),
  },
  { name: 'WinRM stopped (the winrm-stopped profile)', profile: 'winrm-stopped' },
  {
    name: 'WinRM stopped on an onboarded host under Group Policy',
    profile: 'onboarded',
    arrange: (e, fqdn) => {
      const host = e.host(fqdn);
      host.winrm.status = 'Stopped';
      host.cbt.policyControlled = true;
    },
  },
  { name: 'certificates: only an expired one', profile: 'expired-only' },
  { name: 'certificates: no private key', profile: 'no-private-key' },
  { name: 'rollback without saved state (rollbackTo null) is refused', profile: 'onboarded', calls: rollback(null) },
  { name: 'rollback to a partial state is refused', profile: 'onboarded', calls: rollback({ fqdn: 'x' }) },
  {
    name: 'rollback to a hostile state is refused',
    profile: 'onboarded',
    calls: rollback({ fqdn: "x'; Remove-Item C:\\ -Recurse; '", computerName: '$(Remove-Item C:\\)' }),
  },
  {
    name: 'bad parameters are refused by both: an unknown member, an account with a line feed',
    calls: [
      {
        label: 'plan',
        mode: 'plan',
        params: { Fqdn: 'exch01.corp.example', ServiceAccount: 'CORP\\monosync_svc', Extra: true },
      },
      {
        label: 'apply',
        mode: 'apply',
        params: { Fqdn: 'exch01.corp.example', ServiceAccount: 'CORP\\monosync_svc\n' },
      },
    ],
  },
];
const CASES: ContractCase[] = STATES.map((c) => ({
  ...c,
  policy: { ...POLICY, ...c.policy },
  calls: c.calls ?? PLAN_APPLY,
}));

/** The snapshot part each step's state is, and the step whose plan reads it. */
const PARTS: ReadonlyArray<{ part: string; step: StepId }> = [
  { part: 'remoteManagement', step: 'grantRemoteManagement' },
  { part: 'remoting', step: 'enableRemoting' },
  { part: 'httpsListener', step: 'ensureHttpsListener' },
  { part: 'cbt', step: 'setCbtHardening' },
  { part: 'trustedHosts', step: 'setTrustedHosts' },
  { part: 'firewall', step: 'openFirewall' },
];
const STEP_CASES: ContractCase[] = STATES.filter((s) => s.steps).map((s) => ({
  name: s.name,
  profile: s.profile,
  arrange: s.arrange,
  policy: { ...POLICY, ...s.policy },
  calls: [{ label: 'plan', mode: 'plan' }],
}));

function parsedBefore(outcome: CaseOutcome, side: 'lab' | 'script'): Record<string, unknown> | string {
  const call = outcome.calls[0];
  if (side === 'lab')
    return call.lab.ok ? (call.lab.before as Record<string, unknown>) : `lab failed: ${call.lab.error?.code}`;
  try {
    const envelope = JSON.parse(call.scriptOutput[0] ?? '') as {
      ok: boolean;
      before: unknown;
      error?: { code: string };
    };
    return envelope.ok ? (envelope.before as Record<string, unknown>) : `script failed: ${envelope.error?.code}`;
  } catch {
    return `script printed ${JSON.stringify(call.scriptOutput)}`;
  }
}

void describe('Get-OnboardingSnapshot: script and lab model agree', () => {
  let run: ContractRun | null = null;
  const plans = new Map<StepId, ContractRun>();
  let unavailable = '';

  before(async () => {
    const pwsh = await contractPowerShell();
    if (pwsh === null) {
      unavailable = 'pwsh 7.6.9 is not installed here (needs the .NET SDK); run npm run test:ps once to install it';
      console.log(`\n!!! Get-OnboardingSnapshot contract NOT CHECKED: ${unavailable}\n`);
      return;
    }
    const started = Date.now();
    const [snapshot, ...steps] = await Promise.all([
      runStepContract({ step: 'preflight', cases: CASES }, pwsh),
      ...PARTS.map(({ step }) => runStepContract({ step, cases: STEP_CASES }, pwsh)),
    ]);
    run = snapshot;
    PARTS.forEach(({ step }, i) => plans.set(step, steps[i]));
    console.log(
      `Get-OnboardingSnapshot contract: ${run.cases.length} cases, ${run.scriptRuns} script runs; ` +
        `${STEP_CASES.length} states x ${PARTS.length} step plans; ${PARTS.length + 1} pwsh processes ` +
        `(${((Date.now() - started) / 1000).toFixed(1)} s)`
    );
  });

  for (const [index, c] of CASES.entries()) {
    void it(c.name, (t) => {
      if (run === null) return t.skip(unavailable);
      const outcome = run.cases[index];
      assert.deepEqual(outcome.differences, [], formatCase(outcome));
    });
  }

  for (const [index, c] of STEP_CASES.entries()) {
    void it(`each part is what the step's own plan reads as before: ${c.name}`, (t) => {
      if (run === null) return t.skip(unavailable);
      const snapshotIndex = CASES.findIndex((s) => s.name === c.name);
      const snapshot = run.cases[snapshotIndex];
      const found: string[] = [];
      for (const side of ['script', 'lab'] as const) {
        const whole = parsedBefore(snapshot, side);
        assert.equal(typeof whole, 'object', `the snapshot ${side} has a state: ${String(whole)}`);
        for (const { part, step } of PARTS) {
          const plan = plans.get(step)!.cases[index];
          const stepBefore = parsedBefore(plan, side);
          const snapshotPart = (whole as Record<string, unknown>)[part];
          if (!isDeepStrictEqual(snapshotPart, stepBefore)) {
            found.push(
              `${side}: snapshot.${part} ${JSON.stringify(snapshotPart)}, ${step} plan before ${JSON.stringify(stepBefore)}`
            );
          }
        }
      }
      assert.deepEqual(found, []);
    });
  }
});
