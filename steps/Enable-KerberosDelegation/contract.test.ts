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
import { protectedUsersSid } from '../../lab/identity';
import type { LabComputerObject } from '../../lab/model';
import { type ContractCall, type ContractCase } from '../../test/support/script-contract';
import { describeStepContract } from '../../test/support/step-contract-suite';

const DN = 'CN=EXCH01,OU=Exchange Servers,OU=Servers,DC=corp,DC=example';
const FQDN = 'exch01.corp.example';
const SERVICE_ACCOUNT = 'CORP\\monosync_svc';
/** What `paramsFor` sends for EXCH01, with the flag given. */
const own = (TrustedForDelegation: JsonValue, extra: Record<string, JsonValue> = {}) => ({
  ComputerName: 'EXCH01',
  Fqdn: FQDN,
  ServiceAccount: SERVICE_ACCOUNT,
  TrustedForDelegation,
  ...extra,
});
const SPN = 'http/web01.corp.example';

/** Changes the server's computer object (the lab creates it with its host). */
const object = (change: Partial<LabComputerObject>) => (e: LabEstate) => {
  const computer = e.computer('EXCH01');
  if (!computer) throw new Error('the lab has no computer object EXCH01');
  Object.assign(computer, change);
};

/** Changes the service account's user object (the lab creates it with the estate). */
const serviceAccount = (change: (user: NonNullable<ReturnType<LabEstate['user']>>) => void) => (e: LabEstate) => {
  const user = e.user(SERVICE_ACCOUNT);
  if (!user) throw new Error('the lab has no user object for the service account');
  change(user);
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
    calls: withParams(own(false)),
  },
  {
    name: 'conflicting: everything set at once, asked to clear only the unconstrained flag',
    arrange: object({
      trustedForDelegation: true,
      trustedToAuthForDelegation: true,
      allowedToDelegateTo: [SPN],
      resourceBasedDelegation: true,
    }),
    calls: withParams(own(false)),
  },
  {
    name: 'a domain controller named in the fleet file is the one read and written',
    calls: withParams(own(true, { ComputerName: 'exch01', DomainController: 'DC02.corp.example' })),
  },
  {
    name: 'conflicting: EXCH01$ is another server’s object (its DNSHostName a longer name truncated to the same 15 characters)',
    arrange: object({ dnsHostName: 'exch01-dag02.corp.example' }),
    calls: [
      { label: 'plan', mode: 'plan' },
      { label: 'apply', mode: 'apply' },
    ],
  },
  {
    name: 'conflicting: EXCH01$ carries no DNSHostName (pre-staged, never joined)',
    arrange: object({ dnsHostName: '' }),
    calls: [
      { label: 'plan', mode: 'plan' },
      { label: 'apply', mode: 'apply' },
    ],
  },
  {
    name: 'its own object, DNSHostName spelled in capitals: found and changed',
    arrange: object({ dnsHostName: 'EXCH01.CORP.EXAMPLE' }),
  },
  {
    name: 'Monosync’s account in Protected Users (through a nested group): setting delegation is refused',
    arrange: serviceAccount((u) =>
      u.groupSids.push(`${u.sid.slice(0, u.sid.lastIndexOf('-'))}-1105`, protectedUsersSid(u.sid))
    ),
    calls: [
      { label: 'plan', mode: 'plan' },
      { label: 'apply', mode: 'apply' },
    ],
  },
  {
    name: 'Monosync’s account marked sensitive and cannot be delegated: setting is refused, clearing is not',
    profile: 'onboarded',
    arrange: serviceAccount((u) => (u.accountNotDelegated = true)),
    calls: [{ label: 'plan', mode: 'plan' }, { label: 'apply', mode: 'apply' }, ...withParams(own(false))],
  },
  {
    name: 'two DCs, a write on dc02 not replicated to dc01: the locator takes turns and each run reads its own DC',
    arrange: (e) => {
      e.useDomainControllers(['dc01.corp.example', 'dc02.corp.example'], 0);
      object({
        trustedForDelegation: true,
        replication: {
          writtenOn: 'dc02.corp.example',
          replicatesAt: new Date(e.now().getTime() + 3_600_000).toISOString(),
          staleTrustedForDelegation: false,
        },
      })(e);
    },
    calls: [
      { label: 'plan on dc01 (not replicated: would change)', mode: 'plan' },
      { label: 'plan on dc02 (took the write: compliant)', mode: 'plan' },
      { label: 'apply on dc01 (writes it there too)', mode: 'apply' },
      { label: 'plan on dc02', mode: 'plan' },
    ],
  },
  {
    name: 'two DCs, a write on dc02 not replicated: pinned to dc02 every call is compliant',
    arrange: (e) => {
      e.useDomainControllers(['dc01.corp.example', 'dc02.corp.example'], 0);
      object({
        trustedForDelegation: true,
        replication: {
          writtenOn: 'dc02.corp.example',
          replicatesAt: new Date(e.now().getTime() + 3_600_000).toISOString(),
          staleTrustedForDelegation: false,
        },
      })(e);
    },
    calls: withParams(own(true, { DomainController: 'dc02.corp.example' })).slice(0, 3),
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
      { label: 'hostile ComputerName', mode: 'apply', params: own(true, { ComputerName: "EXCH'01" }) },
      { label: 'hostile Fqdn', mode: 'apply', params: own(true, { Fqdn: "exch01.corp.example'; whoami" }) },
      { label: 'hostile ServiceAccount', mode: 'apply', params: own(true, { ServiceAccount: 'CORP\\svc$(whoami)' }) },
      {
        label: 'no Fqdn',
        mode: 'plan',
        params: { ComputerName: 'EXCH01', ServiceAccount: SERVICE_ACCOUNT, TrustedForDelegation: true },
      },
      {
        label: 'no ServiceAccount to set delegation',
        mode: 'plan',
        params: { ComputerName: 'EXCH01', Fqdn: FQDN, TrustedForDelegation: true },
      },
      { label: 'flag as a string', mode: 'apply', params: own('false') },
      {
        label: 'no flag',
        mode: 'apply',
        params: { ComputerName: 'EXCH01', Fqdn: FQDN, ServiceAccount: SERVICE_ACCOUNT },
      },
      { label: 'flag null', mode: 'apply', params: own(null) },
      {
        label: 'an unknown parameter',
        mode: 'apply',
        params: own(true, { Filter: '*' }),
      },
      {
        label: 'DomainController null',
        mode: 'apply',
        params: own(true, { DomainController: null }),
      },
      {
        label: 'DomainController an address',
        mode: 'apply',
        params: own(true, { DomainController: '10.0.0.1' }),
      },
      {
        label: 'ComputerName as a one-element array',
        mode: 'plan',
        params: own(true, { ComputerName: ['EXCH01'] }),
      },
    ],
  },
];

describeStepContract('Enable-KerberosDelegation', { step: 'enableKerberosDelegation', cases: CASES });
