/**
 * Enable-KerberosDelegation.ps1 and its lab model (lab.ts) agree: for each starting state of the server's AD
 * computer object below, the real script (in pwsh, through the seam bound by test/powershell/LabSeam.psm1 to
 * the directory the AD host reaches: the lab's `ad.computers` and its domain controller) and the lab handler
 * return equal envelopes for plan → apply → verify → rollback → verify, and leave the directory in the same
 * state. See test/support/script-contract.ts for what is compared.
 *
 * Group Policy does not apply here (delegation is an attribute of the AD object, not a machine setting);
 * "owned by someone else" is constrained or resource-based delegation that another team configured, which
 * the step reports and never changes.
 */
import type { JsonValue } from '../../domain/scripts';
import type { LabEstate } from '../../lab/estate';
import type { LabComputerObject } from '../../lab/model';
import { type ContractCall, type ContractCase } from '../../test/support/script-contract';
import { describeStepContract } from '../../test/support/step-contract-suite';

const DN = 'CN=EXCH01,OU=Exchange Servers,OU=Servers,DC=corp,DC=example';
const SPN = 'http/web01.corp.example';

/** Changes the server's computer object (the lab creates it with its host). */
const object = (change: Partial<LabComputerObject>) => (e: LabEstate) => {
  const computer = e.computer('EXCH01');
  if (!computer) throw new Error('the lab has no computer object EXCH01');
  Object.assign(computer, change);
};

/** A complete saved state (a plan's `before`), with some fields replaced. */
const saved = (change: Record<string, JsonValue>) => ({
  value: {
    distinguishedName: DN,
    trustedForDelegation: false,
    trustedToAuthForDelegation: false,
    allowedToDelegateTo: [],
    resourceBasedDelegation: false,
    ...change,
  },
});

const rollback = (label: string, rollbackTo: { value: JsonValue }): ContractCall[] => [
  { label, mode: 'rollback', rollbackTo },
  { label: 'verify (plan after the rollback)', mode: 'plan' },
];

const withParams = (params: Record<string, JsonValue>): ContractCall[] => [
  { label: 'plan', mode: 'plan', params },
  { label: 'apply', mode: 'apply', params },
  { label: 'verify (plan after apply)', mode: 'plan', params },
  { label: 'rollback to the saved before', mode: 'rollback', rollbackTo: 'first-plan-before', params },
  { label: 'verify (plan after rollback)', mode: 'plan', params },
];

const CASES: ContractCase[] = [
  { name: 'compliant: an onboarded server, TrustedForDelegation already set', profile: 'onboarded' },
  { name: 'absent: a fresh computer object without any delegation' },
  {
    name: 'absent: no computer object at all (an Edge Transport server outside the domain)',
    profile: 'edge',
    calls: [
      { label: 'plan', mode: 'plan' },
      { label: 'apply', mode: 'apply' },
    ],
  },
  {
    name: 'partial: constrained delegation to one service, no unconstrained',
    arrange: object({ allowedToDelegateTo: [SPN] }),
  },
  {
    name: 'owned by someone else: constrained delegation with protocol transition to two services is kept',
    arrange: object({ trustedToAuthForDelegation: true, allowedToDelegateTo: [SPN, 'cifs/fs01.corp.example'] }),
  },
  {
    name: 'owned by someone else: resource-based delegation is reported and kept',
    arrange: object({ resourceBasedDelegation: true }),
  },
  {
    name: 'conflicting: asked to clear TrustedForDelegation where it is set',
    profile: 'onboarded',
    calls: withParams({ ComputerName: 'EXCH01', TrustedForDelegation: false }),
  },
  {
    name: 'conflicting: everything set at once, asked to clear only the unconstrained flag',
    arrange: object({
      trustedForDelegation: true,
      trustedToAuthForDelegation: true,
      allowedToDelegateTo: [SPN],
      resourceBasedDelegation: true,
    }),
    calls: withParams({ ComputerName: 'EXCH01', TrustedForDelegation: false }),
  },
  {
    name: 'a domain controller named in the fleet file is the one read and written',
    calls: withParams({ ComputerName: 'exch01', DomainController: 'DC02.corp.example', TrustedForDelegation: true }),
  },
  {
    name: 'rollback without saved state (rollbackTo null) is refused, the flag left as it is',
    profile: 'onboarded',
    calls: rollback('rollback', { value: null }),
  },
  {
    name: 'rollback to a partial state (trustedForDelegation alone) is refused',
    profile: 'onboarded',
    calls: rollback('rollback', { value: { trustedForDelegation: false } }),
  },
  {
    name: 'rollback to a state whose allowedToDelegateTo is null is refused',
    profile: 'onboarded',
    calls: rollback('rollback', saved({ allowedToDelegateTo: null })),
  },
  {
    name: 'rollback to a state whose flag is the string "false" is refused',
    profile: 'onboarded',
    calls: rollback('rollback', saved({ trustedForDelegation: 'false' })),
  },
  {
    name: 'rollback to a hostile distinguishedName (not this object) is refused',
    profile: 'onboarded',
    calls: rollback('rollback', saved({ distinguishedName: "x'; Remove-Item C:\\ -Recurse; '" })),
  },
  {
    name: 'rollback to another object’s state is refused',
    profile: 'onboarded',
    calls: rollback(
      'rollback',
      saved({ distinguishedName: 'CN=EXCH02,OU=Exchange Servers,OU=Servers,DC=corp,DC=example' })
    ),
  },
  {
    name: 'rollback to a state with a line break in allowedToDelegateTo is refused',
    profile: 'onboarded',
    calls: rollback('rollback', saved({ allowedToDelegateTo: [`${SPN}\n`] })),
  },
  {
    name: 'rollback to this object’s state, its DN spelled in another case, one SPN saved: only the flag is restored',
    profile: 'onboarded',
    calls: rollback('rollback', saved({ distinguishedName: DN.toLowerCase(), allowedToDelegateTo: [SPN] })),
  },
  {
    name: 'parameters both refuse: a hostile name, a flag as a string, no flag, an unknown or null parameter',
    calls: [
      { label: 'hostile ComputerName', mode: 'apply', params: { ComputerName: "EXCH'01", TrustedForDelegation: true } },
      { label: 'flag as a string', mode: 'apply', params: { ComputerName: 'EXCH01', TrustedForDelegation: 'false' } },
      { label: 'no flag', mode: 'apply', params: { ComputerName: 'EXCH01' } },
      { label: 'flag null', mode: 'apply', params: { ComputerName: 'EXCH01', TrustedForDelegation: null } },
      {
        label: 'an unknown parameter',
        mode: 'apply',
        params: { ComputerName: 'EXCH01', TrustedForDelegation: true, Filter: '*' },
      },
      {
        label: 'DomainController null',
        mode: 'apply',
        params: { ComputerName: 'EXCH01', TrustedForDelegation: true, DomainController: null },
      },
      {
        label: 'DomainController an address',
        mode: 'apply',
        params: { ComputerName: 'EXCH01', TrustedForDelegation: true, DomainController: '10.0.0.1' },
      },
      {
        label: 'ComputerName as a one-element array',
        mode: 'plan',
        params: { ComputerName: ['EXCH01'], TrustedForDelegation: true },
      },
    ],
  },
];

describeStepContract('Enable-KerberosDelegation', { step: 'enableKerberosDelegation', cases: CASES });
