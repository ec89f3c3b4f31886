/**
 * Set-CbtHardening.ps1 and its lab model (lab.ts) agree: for each starting state below, the real script
 * (in pwsh, through the seam bound to the lab's JSON host by test/powershell/LabSeam.psm1) and the lab
 * handler return equal envelopes for plan → apply → verify → rollback → verify, and leave the host in the
 * same state. See test/support/script-contract.ts for what is compared.
 */
import type { ContractCase } from '../../test/support/script-contract';
import { describeStepContract } from '../../test/support/step-contract-suite';

const policy = (level: string) => ({ cbtHardeningLevel: level });

const CASES: ContractCase[] = [
  { name: 'compliant: already Relaxed', policy: policy('Relaxed') },
  { name: 'default: Windows Relaxed, Strict wanted', policy: policy('Strict') },
  {
    name: 'absent: WinRM reports no level',
    policy: policy('Relaxed'),
    arrange: (e, fqdn) => void (e.host(fqdn).cbt.level = ''),
  },
  {
    name: 'set by Group Policy to another level',
    policy: policy('Strict'),
    profile: 'gpo-cbt',
  },
  {
    name: 'set by Group Policy to the wanted level',
    policy: policy('Strict'),
    arrange: (e, fqdn) => void (e.host(fqdn).cbt = { level: 'Strict', policyControlled: true }),
  },
  {
    name: 'conflicting: None set by hand, Strict wanted',
    policy: policy('Strict'),
    arrange: (e, fqdn) => void (e.host(fqdn).cbt.level = 'None'),
  },
  {
    name: 'conflicting spelling: strict in lower case',
    policy: policy('Strict'),
    arrange: (e, fqdn) => void (e.host(fqdn).cbt.level = 'strict'),
  },
  { name: 'risky: None wanted (the approval is the workflow’s; the script just sets it)', policy: policy('None') },
  {
    name: 'rollback without saved state (rollbackTo null) is refused',
    policy: policy('Strict'),
    calls: [{ label: 'rollback', mode: 'rollback', rollbackTo: { value: null } }],
  },
  {
    name: 'rollback to a partial state (no policyControlled) is refused',
    policy: policy('Strict'),
    calls: [{ label: 'rollback', mode: 'rollback', rollbackTo: { value: { level: 'None' } } }],
  },
  {
    name: 'rollback to a level WinRM does not have is refused',
    policy: policy('Strict'),
    calls: [{ label: 'rollback', mode: 'rollback', rollbackTo: { value: { level: 'Off', policyControlled: false } } }],
  },
  {
    name: 'a Level spelled otherwise is refused',
    policy: policy('Strict'),
    calls: [
      { label: 'plan', mode: 'plan', params: { Level: 'strict' } },
      { label: 'apply', mode: 'apply', params: { Level: ['Strict'] } },
    ],
  },
];

describeStepContract('Set-CbtHardening', { step: 'setCbtHardening', cases: CASES });
