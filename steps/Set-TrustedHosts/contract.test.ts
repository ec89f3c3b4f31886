/**
 * Set-TrustedHosts.ps1 and its lab model (lab.ts) agree: for each starting state below, the real script
 * (in pwsh, through the seam bound to the lab's JSON host or worker by test/powershell/LabSeam.psm1) and
 * the lab handler return equal envelopes for plan → apply → verify → rollback → verify, and leave the
 * machine in the same state. See test/support/script-contract.ts for what is compared.
 */
import type { ContractCase } from '../../test/support/script-contract';
import { describeStepContract } from '../../test/support/step-contract-suite';

const onExchange = (value: unknown) => ({ trustedHosts: { applyOn: 'exchange', value } });
const AB = ['a.corp.example', 'b.corp.example'];

const CASES: ContractCase[] = [
  {
    name: 'compliant: every entry already there',
    policy: onExchange(AB),
    arrange: (e, fqdn) => void (e.host(fqdn).trustedHosts.value = 'a.corp.example,b.corp.example'),
  },
  { name: 'absent: an empty list', policy: onExchange(AB) },
  {
    name: 'partial: one entry of two there',
    policy: onExchange(AB),
    arrange: (e, fqdn) => void (e.host(fqdn).trustedHosts.value = 'a.corp.example'),
  },
  {
    name: 'partial, spelled otherwise: others’ entries, spaces and capitals are kept',
    policy: onExchange(AB),
    arrange: (e, fqdn) => void (e.host(fqdn).trustedHosts.value = 'legacy.corp.example, A.corp.example,,'),
  },
  {
    name: 'set by Group Policy without our entries',
    policy: onExchange(AB),
    arrange: (e, fqdn) => void (e.host(fqdn).trustedHosts = { value: 'gpo.corp.example', policyControlled: true }),
  },
  {
    name: 'set by Group Policy with our entries',
    policy: onExchange(AB),
    arrange: (e, fqdn) =>
      void (e.host(fqdn).trustedHosts = { value: 'a.corp.example,b.corp.example', policyControlled: true }),
  },
  {
    name: 'conflicting: a wildcard nobody asked for already covers everything',
    policy: onExchange(AB),
    arrange: (e, fqdn) => void (e.host(fqdn).trustedHosts.value = '*'),
  },
  {
    name: 'conflicting: the policy asks for * over a list',
    policy: onExchange('any'),
    arrange: (e, fqdn) => void (e.host(fqdn).trustedHosts.value = 'a.corp.example,192.168.1.*'),
  },
  { name: 'one entry: this server', policy: onExchange('this-server') },
  {
    name: 'on the Monosync worker (applyOn: monosync), partial',
    policy: { trustedHosts: { applyOn: 'monosync', value: 'this-server' } },
    arrange: (e) => void (e.worker.trustedHosts.value = 'other.corp.example'),
  },
  {
    name: 'rollback without saved state (rollbackTo null) is refused',
    policy: onExchange(AB),
    arrange: (e, fqdn) => void (e.host(fqdn).trustedHosts.value = 'keep.corp.example'),
    calls: [{ label: 'rollback', mode: 'rollback', rollbackTo: { value: null } }],
  },
  {
    name: 'rollback to a partial state (no policyControlled) is refused',
    policy: onExchange(AB),
    arrange: (e, fqdn) => void (e.host(fqdn).trustedHosts.value = 'keep.corp.example'),
    calls: [{ label: 'rollback', mode: 'rollback', rollbackTo: { value: { value: '' } } }],
  },
  {
    name: 'rollback to a value no TrustedHosts list holds is refused',
    policy: onExchange(AB),
    calls: [
      {
        label: 'rollback',
        mode: 'rollback',
        rollbackTo: { value: { value: "x'; Remove-Item C:\\ -Recurse; '", policyControlled: false } },
      },
    ],
  },
  {
    name: 'rollback to a value with a trailing line break is refused',
    policy: onExchange(AB),
    calls: [
      {
        label: 'rollback',
        mode: 'rollback',
        rollbackTo: { value: { value: 'a.corp.example\n', policyControlled: false } },
      },
    ],
  },
  {
    name: 'rollback to an empty saved list removes our entries',
    policy: onExchange(AB),
    arrange: (e, fqdn) => void (e.host(fqdn).trustedHosts.value = 'a.corp.example'),
    calls: [{ label: 'rollback', mode: 'rollback', rollbackTo: { value: { value: '', policyControlled: false } } }],
  },
  {
    name: 'rollback keeps an entry someone added after the apply, and the ones there before',
    policy: onExchange(AB),
    arrange: (e, fqdn) =>
      void (e.host(fqdn).trustedHosts.value = 'legacy.corp.example,a.corp.example,b.corp.example,jump.corp.example'),
    calls: [
      {
        label: 'rollback',
        mode: 'rollback',
        rollbackTo: { value: { value: 'legacy.corp.example,B.corp.example', policyControlled: false } },
      },
      { label: 'verify (plan after rollback)', mode: 'plan' },
    ],
  },
  {
    name: 'rollback of a * written over a list brings the list back',
    policy: onExchange('any'),
    arrange: (e, fqdn) => void (e.host(fqdn).trustedHosts.value = '*'),
    calls: [
      {
        label: 'rollback',
        mode: 'rollback',
        rollbackTo: { value: { value: 'a.corp.example,192.168.1.*', policyControlled: false } },
      },
    ],
  },
  {
    name: 'rollback set by Group Policy: our entry held by the GPO cannot be removed',
    policy: onExchange(AB),
    arrange: (e, fqdn) =>
      void (e.host(fqdn).trustedHosts = { value: 'gpo.corp.example,a.corp.example', policyControlled: true }),
    calls: [{ label: 'rollback', mode: 'rollback', rollbackTo: { value: { value: '', policyControlled: false } } }],
  },
  {
    name: 'on the Monosync worker, two servers: each rollback removes only its own entry',
    policy: { trustedHosts: { applyOn: 'monosync', value: 'this-server' } },
    arrange: (e, fqdn) => void (e.worker.trustedHosts.value = `other.corp.example,${fqdn},exch02.corp.example`),
    calls: [
      {
        label: 'rollback',
        mode: 'rollback',
        rollbackTo: { value: { value: 'other.corp.example', policyControlled: false } },
      },
    ],
  },
  {
    name: 'Entries empty, holding an empty entry, or holding a hostile one are refused',
    policy: onExchange(AB),
    calls: [
      { label: 'plan, no entries', mode: 'plan', params: { Entries: [] } },
      { label: 'apply, an empty entry', mode: 'apply', params: { Entries: [''] } },
      { label: 'apply, a hostile entry', mode: 'apply', params: { Entries: ['a.corp.example', 'bad;name'] } },
    ],
  },
];

describeStepContract('Set-TrustedHosts', { step: 'setTrustedHosts', cases: CASES });
