/**
 * Test-MonosyncConnectivity.ps1 and its lab model (lab.ts) agree: for each starting state below, the real
 * script (in pwsh, through the seam bound by test/powershell/LabSeam.psm1) and the lab handler return equal
 * envelopes, call by call, and leave everything as it was (the step only reads).
 *
 * The script runs on the worker and probes the Exchange server over the network, so the machine its seam
 * sees is the worker WITH its view of the network: the Exchange host (LabHost), its AD computer object, the
 * identity the worker runs as and the lab clock: this file gives runStepContract (test/support/script-contract.ts)
 * that view through the contract's `machine` hook; everything else is the shared contract.
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { contextOf } from '../../domain/onboarding';
import type { JsonValue } from '../../domain/scripts';
import type { LabEstate } from '../../lab/estate';
import { accountSid, downLevelName } from '../../lab/identity';
import {
  CONTRACT_FQDN,
  WORKER_MACHINE,
  type ContractCall,
  type ContractCase,
} from '../../test/support/script-contract';
import { describeStepContract } from '../../test/support/step-contract-suite';

const STEP = 'verifyConnectivity';
const SCRIPT = 'Test-MonosyncConnectivity';

/** An acceptance run: plan, then apply (the same read-only test). */
const PLAN_APPLY: readonly ContractCall[] = [
  { label: 'plan', mode: 'plan' },
  { label: 'apply (the same test)', mode: 'apply' },
];
const NO_HOP = { delegation: 'skip' };
const rollback = (value: JsonValue): ContractCall[] => [{ label: 'rollback', mode: 'rollback', rollbackTo: { value } }];
const GOOD_STATE = {
  wsmanHttps: true,
  kerberosSecondHop: true,
  servedThumbprint: 'A'.repeat(40),
  sessionAsServiceAccount: true,
};
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
    name: 'partial: the SYSVOL of another domain than the one passed in is not reached (all attempts made)',
    profile: 'onboarded',
    calls: [
      {
        label: 'plan',
        mode: 'plan',
        params: {
          Fqdn: CONTRACT_FQDN,
          ServiceAccount: 'CORP\\monosync_svc',
          Domain: 'other.example',
          CheckSecondHop: true,
        },
      },
    ],
  },
  {
    name: 'bad parameters are refused by both: CheckSecondHop as text, a hostile Fqdn',
    profile: 'onboarded',
    calls: [
      {
        label: 'plan',
        mode: 'plan',
        params: {
          Fqdn: CONTRACT_FQDN,
          ServiceAccount: 'CORP\\monosync_svc',
          Domain: 'corp.example',
          CheckSecondHop: 'false',
        },
      },
      {
        label: 'apply',
        mode: 'apply',
        params: {
          Fqdn: `${CONTRACT_FQDN}\n`,
          ServiceAccount: 'CORP\\monosync_svc',
          Domain: 'corp.example',
          CheckSecondHop: true,
        },
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
    domain: state.settings.domain,
    now,
    network: { hosts: { [CONTRACT_FQDN]: host }, computers: computer ? { [sam]: computer } : {} },
  };
}

describeStepContract(
  SCRIPT,
  {
    step: STEP,
    // An acceptance run is plan then apply (the same read-only test), not plan → apply → rollback.
    cases: CASES.map((c) => ({ ...c, calls: c.calls ?? PLAN_APPLY })),
    machine: (estate, _call, { spec, now }) => workerView(estate, contextOf(spec).serviceAccount, now),
  },
  (run, unavailable) => {
    void it('covers every outcome of each probe', (t) => {
      const done = run();
      if (done === null) return t.skip(unavailable());
      const seen = (key: string) =>
        new Set(done.cases.flatMap((c) => c.calls.filter((call) => call.lab.ok).map((call) => call.lab.evidence[key])));
      assert.deepEqual([...seen('tlsError')].sort(), [null, '10061', '10060', 'TlsHandshakeFailed'].sort());
      assert.deepEqual([...seen('wsmanError')].sort(), [null, '0x80338012', '0x80338126', '12175'].sort());
      assert.deepEqual([...seen('sessionError')].sort(), [null, '5'].sort());
      assert.deepEqual([...seen('secondHopAttempts')].sort(), [0, 1, 4].sort());
    });
  }
);
