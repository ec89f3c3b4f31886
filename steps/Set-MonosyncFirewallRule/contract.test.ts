/**
 * Set-MonosyncFirewallRule.ps1 and its lab model (lab.ts) agree: for each starting state below, the real
 * script (in pwsh, through the seam bound to the lab's JSON host by test/powershell/LabSeam.psm1) and the
 * lab handler return equal envelopes for plan → apply → verify → rollback → verify, and leave the host's
 * firewall in the same state. See test/support/script-contract.ts for what is compared.
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import type { LabEstate } from '../../lab/estate';
import type { LabFirewallRule } from '../../lab/model';
import { MONOSYNC } from '../../test/lab-fixtures';
import type { ContractCase } from '../../test/support/script-contract';
import { describeStepContract } from '../../test/support/step-contract-suite';
import { MONOSYNC_RULE_NAME } from './step';

const rule = (r: Partial<LabFirewallRule> = {}): LabFirewallRule => ({
  name: MONOSYNC_RULE_NAME,
  enabled: true,
  localPorts: [5985, 5986],
  remoteAddresses: [...MONOSYNC],
  profiles: ['Domain'],
  ...r,
});
const withRule =
  (r: Partial<LabFirewallRule> = {}) =>
  (e: LabEstate, fqdn: string) =>
    void e.host(fqdn).firewall.rules.push(rule(r));

const PARAMS = {
  RuleName: MONOSYNC_RULE_NAME,
  Ports: [5985, 5986],
  RemoteAddresses: [...MONOSYNC],
  Profiles: ['Domain'],
};
/** A rule for every profile, as Windows ships its own (the lab leaves the list out). */
const withAnyProfileRule = (e: LabEstate, fqdn: string) => {
  const { profiles: _every, ...anyProfile } = rule();
  e.host(fqdn).firewall.rules.push(anyProfile);
};
const rollbackTo = (value: unknown) => ({ value: value as never });
const savedRule = (r: Record<string, unknown>) => ({ rule: { ...rule(), ...r } });

const CASES: ContractCase[] = [
  { name: 'compliant: the onboarded rule', profile: 'onboarded' },
  {
    name: 'compliant, written otherwise: ports and addresses in another order',
    arrange: withRule({ localPorts: [5986, 5985], remoteAddresses: [...MONOSYNC].reverse() }),
  },
  { name: 'absent: no rule of the name (Windows has only WINRM-HTTP-In-TCP)' },
  {
    name: 'partial: one port and one address of two',
    arrange: withRule({ localPorts: [5986], remoteAddresses: [MONOSYNC[0]] }),
  },
  { name: 'partial: the rule is there but disabled', arrange: withRule({ enabled: false }) },
  {
    name: 'conflicting: the rule admits Any (someone widened it)',
    arrange: withRule({ localPorts: [5986], remoteAddresses: ['Any'] }),
  },
  {
    name: 'conflicting: the rule is open on every port (LocalPort Any) and one more address',
    arrange: withRule({ localPorts: [], remoteAddresses: [...MONOSYNC, '10.9.9.9'] }),
  },
  {
    name: 'conflicting: the policy opens the ports to Any over a scoped rule',
    policy: { firewall: { sources: 'any' } },
    arrange: withRule(),
  },
  {
    name: 'set by Group Policy: AllowLocalFirewallRules False (written, with a warning)',
    arrange: (e, fqdn) => void (e.host(fqdn).firewall.localRulesApply = false),
  },
  {
    name: 'Windows Firewall off (written, with a warning)',
    arrange: (e, fqdn) => void (e.host(fqdn).firewall.enabled = false),
  },
  { name: 'one port: the policy asks for 5986 alone', policy: { firewall: { ports: [5986] } } },
  { name: 'conflicting: the rule applies to every profile (Profile Any)', arrange: withAnyProfileRule },
  {
    name: 'conflicting: the rule is for Domain and Public, the policy asks for Domain',
    arrange: withRule({ profiles: ['Domain', 'Public'] }),
  },
  {
    name: 'two profiles: the policy asks for Private and Domain',
    policy: { firewall: { profiles: ['Private', 'Domain'] } },
  },
  {
    name: "absent: Windows' own WINRM-HTTP-In-TCP removed by an admin (builtInHttpRule null)",
    arrange: (e, fqdn) => void (e.host(fqdn).firewall.rules = []),
  },
  {
    name: "compliant: Windows' own WINRM-HTTP-In-TCP narrowed to the Monosync servers (no warning)",
    profile: 'onboarded',
    arrange: (e, fqdn) => {
      const builtIn = e.host(fqdn).firewall.rules.find((r) => r.name === 'WINRM-HTTP-In-TCP');
      if (builtIn) builtIn.remoteAddresses = [...MONOSYNC];
    },
  },
  {
    name: 'the rule spelled in other capitals is ours (Windows matches names case-insensitively)',
    arrange: withRule({ name: 'MONOSYNC-WINRM-IN', remoteAddresses: ['Any'] }),
  },
  {
    name: 'rollback without saved state (rollbackTo null) is refused, the rule stays',
    arrange: withRule(),
    calls: [{ label: 'rollback', mode: 'rollback', rollbackTo: rollbackTo(null) }],
  },
  {
    name: 'rollback to {} (no rule member) is refused',
    arrange: withRule(),
    calls: [{ label: 'rollback', mode: 'rollback', rollbackTo: rollbackTo({}) }],
  },
  {
    name: 'rollback to a partial state (no enabled, no remoteAddresses) is refused',
    arrange: withRule({ remoteAddresses: ['Any'] }),
    calls: [
      {
        label: 'rollback',
        mode: 'rollback',
        rollbackTo: rollbackTo({ rule: { name: MONOSYNC_RULE_NAME, localPorts: [5986] } }),
      },
    ],
  },
  {
    name: 'rollback to values no firewall rule holds is refused',
    arrange: withRule(),
    calls: [
      {
        label: 'a hostile address',
        mode: 'rollback',
        rollbackTo: rollbackTo(savedRule({ remoteAddresses: ["10.0.0.5'; Remove-Item C:\\ -Recurse; '"] })),
      },
      { label: 'a wildcard address', mode: 'rollback', rollbackTo: rollbackTo(savedRule({ remoteAddresses: ['*'] })) },
      { label: 'no address', mode: 'rollback', rollbackTo: rollbackTo(savedRule({ remoteAddresses: [] })) },
      { label: 'another rule', mode: 'rollback', rollbackTo: rollbackTo(savedRule({ name: 'WINRM-HTTP-In-TCP' })) },
      { label: 'port 0', mode: 'rollback', rollbackTo: rollbackTo(savedRule({ localPorts: [0] })) },
      { label: 'no profiles', mode: 'rollback', rollbackTo: rollbackTo(savedRule({ profiles: [] })) },
      {
        label: 'a profile Windows has not',
        mode: 'rollback',
        rollbackTo: rollbackTo(savedRule({ profiles: ['Home'] })),
      },
      {
        label: 'profiles left out (a state saved before they were reported)',
        mode: 'rollback',
        rollbackTo: rollbackTo({
          rule: { name: MONOSYNC_RULE_NAME, enabled: true, localPorts: [5986], remoteAddresses: ['Any'] },
        }),
      },
      { label: 'a fractional port', mode: 'rollback', rollbackTo: rollbackTo(savedRule({ localPorts: [5986.5] })) },
    ],
  },
  {
    name: 'rollback to what Windows reports: a subnet, a keyword, LocalPort Any',
    arrange: withRule(),
    calls: [
      {
        label: 'rollback',
        mode: 'rollback',
        rollbackTo: rollbackTo(
          savedRule({
            localPorts: [],
            remoteAddresses: ['10.0.0.0/255.255.255.0', 'LocalSubnet', 'fe80::/64'],
            profiles: ['Any'],
          })
        ),
      },
      { label: 'verify (plan after rollback)', mode: 'plan' },
    ],
  },
  {
    name: 'rollback to no rule where there is none changes nothing',
    calls: [{ label: 'rollback', mode: 'rollback', rollbackTo: rollbackTo({ rule: null }) }],
  },
  {
    name: 'Ports and RemoteAddresses the contract does not allow are refused',
    arrange: withRule({ remoteAddresses: ['Any'] }),
    calls: [
      { label: 'plan, no ports', mode: 'plan', params: { ...PARAMS, Ports: [] } },
      { label: 'apply, no addresses', mode: 'apply', params: { ...PARAMS, RemoteAddresses: [] } },
      { label: 'apply, port 80', mode: 'apply', params: { ...PARAMS, Ports: [5986, 80] } },
      {
        label: 'apply, Any with an address',
        mode: 'apply',
        params: { ...PARAMS, RemoteAddresses: ['Any', '10.0.0.5'] },
      },
      { label: 'apply, a hostile address', mode: 'apply', params: { ...PARAMS, RemoteAddresses: ['10.0.0.5', 'a;b'] } },
      { label: 'apply, a subnet', mode: 'apply', params: { ...PARAMS, RemoteAddresses: ['10.0.0.0/24'] } },
      { label: 'apply, another rule', mode: 'apply', params: { ...PARAMS, RuleName: 'WINRM-HTTP-In-TCP' } },
      { label: 'apply, no profiles', mode: 'apply', params: { ...PARAMS, Profiles: [] } },
      { label: 'apply, profile Any', mode: 'apply', params: { ...PARAMS, Profiles: ['Any'] } },
      { label: 'apply, a profile in lower case', mode: 'apply', params: { ...PARAMS, Profiles: ['domain'] } },
      {
        label: 'rollback, no ports',
        mode: 'rollback',
        params: { ...PARAMS, Ports: [] },
        rollbackTo: rollbackTo({ rule: null }),
      },
    ],
  },
  {
    name: 'one-element lists and duplicates are taken as sets',
    calls: [
      {
        label: 'plan',
        mode: 'plan',
        params: { ...PARAMS, Ports: [5986, 5986], RemoteAddresses: ['10.0.0.5', '10.0.0.5'] },
      },
      { label: 'apply', mode: 'apply', params: { ...PARAMS, Ports: [5986], RemoteAddresses: ['10.0.0.5'] } },
      { label: 'verify', mode: 'plan', params: { ...PARAMS, Ports: [5986, 5986], RemoteAddresses: ['10.0.0.5'] } },
      { label: 'rollback to the saved before', mode: 'rollback', rollbackTo: 'first-plan-before' },
    ],
  },
];

describeStepContract('Set-MonosyncFirewallRule', { step: 'openFirewall', cases: CASES }, () => {
  void it('covers every kind of starting state and every refusal (the table is not empty of any)', () => {
    const names = CASES.map((c) => c.name);
    for (const kind of [
      'compliant',
      'absent',
      'partial',
      'set by Group Policy',
      'conflicting',
      'rollback without saved state',
    ]) {
      assert.ok(
        names.some((n) => n.startsWith(kind)),
        `no case for ${kind}`
      );
    }
  });
});
