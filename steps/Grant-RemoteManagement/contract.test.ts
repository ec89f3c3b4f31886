/**
 * Grant-RemoteManagement.ps1 and its lab model (lab.ts) agree: for each starting state below, the real script
 * (in pwsh, through the seam bound to the lab's JSON host by test/powershell/LabSeam.psm1) and the lab
 * handler return equal envelopes for plan → apply → verify → rollback → verify, and leave the host in the
 * same state. See test/support/script-contract.ts for what is compared.
 */
import { accountSid } from '../../lab/identity';
import { PLAN_APPLY_ROLLBACK, type ContractCall, type ContractCase } from '../../test/support/script-contract';
import { describeStepContract } from '../../test/support/step-contract-suite';

const SERVICE = 'CORP\\monosync_svc';
const SAVED = { member: false, groupName: 'Remote Management Users', endpointAllowsGroup: true, networkDenied: false };
const rollbackTo = (value: unknown): ContractCall => ({
  label: 'rollback',
  mode: 'rollback',
  rollbackTo: { value: value as never },
});
const refused = (label: string, Member: unknown): ContractCall[] => [
  { label: `plan, ${label}`, mode: 'plan', params: { Member: Member as never } },
  { label: `apply, ${label}`, mode: 'apply', params: { Member: Member as never } },
];

const CASES: ContractCase[] = [
  { name: 'compliant: already a member (onboarded)', profile: 'onboarded' },
  { name: 'absent: the group is empty (fresh)' },
  {
    name: 'partial: the group has others’ members (one an orphaned SID), ours missing; rollback keeps theirs',
    arrange: (e, fqdn) =>
      void e
        .host(fqdn)
        .remoteManagementUsers.members.push(
          { sid: accountSid('CORP\\helpdesk'), account: 'CORP\\helpdesk' },
          { sid: 'S-1-5-21-1004336348-1177238915-682003330-4242', account: '' }
        ),
  },
  {
    name: 'partial: a member, but the endpoint ACL does not admit the group (reported, not changed)',
    profile: 'onboarded',
    arrange: (e, fqdn) => void (e.host(fqdn).sessionConfiguration.allowsRemoteManagementUsers = false),
  },
  {
    name: 'conflicting: the endpoint denies NETWORK logons (Disable-PSRemoting), the member is missing',
    arrange: (e, fqdn) => void (e.host(fqdn).sessionConfiguration.networkDenied = true),
  },
  {
    name: 'conflicting: endpoints disabled, NETWORK denied and the group not admitted',
    arrange: (e, fqdn) =>
      void (e.host(fqdn).sessionConfiguration = {
        endpointsEnabled: false,
        allowsRemoteManagementUsers: false,
        networkDenied: true,
      }),
  },
  {
    name: 'owned by someone else: an admin already added the account (asked for as its UPN); rollback keeps it',
    profile: 'onboarded',
    calls: PLAN_APPLY_ROLLBACK.map((c) => ({ ...c, params: { Member: 'monosync_svc@corp.example' } })),
  },
  { name: 'localized: German (Remoteverwaltungsbenutzer)', profile: 'german' },
  {
    name: 'set by Group Policy: a Restricted Groups entry that does not list the account (refused)',
    profile: 'gpo-restricted-groups',
  },
  {
    name: 'set by Group Policy: a Restricted Groups entry that lists the account by SID; rollback refused',
    arrange: (e, fqdn) =>
      void (e.host(fqdn).remoteManagementUsers.restrictedBy = {
        gpo: 'cn={6AC1786C-016F-11D2-945F-00C04FB984F9},cn=policies,cn=system,DC=corp,DC=example',
        members: ['CORP\\Server Admins', `*${accountSid(SERVICE)}`],
      }),
  },
  {
    name: 'localized: French (Utilisateurs de gestion à distance)',
    arrange: (e, fqdn) => void (e.host(fqdn).remoteManagementUsers.groupName = 'Utilisateurs de gestion à distance'),
  },
  {
    name: 'localized: Spanish (Usuarios de administración remota)',
    arrange: (e, fqdn) => void (e.host(fqdn).remoteManagementUsers.groupName = 'Usuarios de administración remota'),
  },
  {
    name: 'Windows Server 2012 R2: no LocalAccounts cmdlets, ADSI adds and removes',
    arrange: (e, fqdn) => void (e.host(fqdn).osVersion = '6.3.9600'),
  },
  {
    name: 'a domain controller is refused (the BUILTIN group is domain-wide there)',
    arrange: (e, fqdn) => void (e.host(fqdn).isDomainController = true),
    calls: [
      { label: 'plan', mode: 'plan' },
      { label: 'apply', mode: 'apply' },
    ],
  },
  {
    name: 'an Edge Transport server in no domain cannot resolve the account',
    profile: 'edge',
    calls: [
      { label: 'plan', mode: 'plan' },
      { label: 'apply', mode: 'apply' },
    ],
  },
  {
    name: 'rollback without saved state (rollbackTo null) is refused and removes nobody',
    profile: 'onboarded',
    calls: [rollbackTo(null)],
  },
  {
    name: 'rollback to a partial state (only member) is refused',
    profile: 'onboarded',
    calls: [rollbackTo({ member: false })],
  },
  {
    name: 'rollback to a state with member as text is refused',
    profile: 'onboarded',
    calls: [rollbackTo({ ...SAVED, member: 'false' })],
  },
  {
    name: 'rollback to a hostile groupName is refused',
    profile: 'onboarded',
    calls: [
      rollbackTo({ ...SAVED, groupName: "x'; Remove-Item C:\\ -Recurse; '" }),
      rollbackTo({ ...SAVED, groupName: 'Remote Management Users\n' }),
    ],
  },
  {
    name: 'rollback to the saved state of an earlier version (groupName behind BUILTIN\\) is done',
    profile: 'onboarded',
    calls: [rollbackTo({ ...SAVED, groupName: 'BUILTIN\\Remote Management Users' })],
  },
  {
    name: 'Member refused: hostile, one-label UPN domain, user ending in a dot, an array, empty',
    calls: [
      ...refused('hostile', "CORP\\x'; Remove-Item C:\\ -Recurse; '"),
      ...refused('one-label domain', 'monosync_svc@corp'),
      ...refused('trailing dot', 'monosync.@corp.example'),
      ...refused('one-element array', [SERVICE]),
      ...refused('empty', ''),
    ],
  },
];

describeStepContract('Grant-RemoteManagement', { step: 'grantRemoteManagement', cases: CASES });
