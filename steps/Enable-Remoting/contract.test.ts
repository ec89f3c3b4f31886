/**
 * Enable-Remoting.ps1 and its lab model (lab.ts) agree: for each starting state below, the real script
 * (in pwsh, through the seam bound to the lab's JSON host by test/powershell/LabSeam.psm1) and the lab
 * handler return equal envelopes for plan → apply → verify → rollback → verify, and leave the host in the
 * same state. See test/support/script-contract.ts for what is compared.
 */
import type { LabHost } from '../../lab/model';
import type { ContractCase } from '../../test/support/script-contract';
import { describeStepContract } from '../../test/support/step-contract-suite';

type Listener = LabHost['listeners'][number];

const listener = (transport: 'HTTP' | 'HTTPS', port: number, extra: Partial<Listener> = {}): Listener => ({
  address: '*',
  transport,
  port,
  hostname: transport === 'HTTPS' ? 'exch01.corp.example' : '',
  thumbprint: transport === 'HTTPS' ? 'A'.repeat(40) : '',
  enabled: true,
  source: 'Local',
  ...extra,
});

const SAVED = { serviceStatus: 'Running', startType: 'Manual', listeners: [{ transport: 'HTTP', port: 5985 }] };
const rollbackTo = (value: unknown) => [
  { label: 'rollback', mode: 'rollback' as const, rollbackTo: { value: value as never } },
];

const CASES: ContractCase[] = [
  { name: 'compliant: running, Automatic, an HTTP listener, endpoints enabled (a fresh Exchange server)' },
  {
    name: 'absent: never set up (stopped, Manual, no listener, no firewall exception, endpoints disabled)',
    arrange: (e, fqdn) => {
      const host = e.host(fqdn);
      host.winrm = { status: 'Stopped', startType: 'Manual' };
      host.listeners = [];
      host.firewall.rules = [];
      host.sessionConfiguration.endpointsEnabled = false;
    },
  },
  { name: 'partial: stopped and Manual, its listener and endpoints in place', profile: 'winrm-stopped' },
  {
    name: 'partial: running but Manual (only the start type changes; no WinRM restart)',
    arrange: (e, fqdn) => void (e.host(fqdn).winrm.startType = 'Manual'),
  },
  {
    name: 'partial: stopped but Automatic',
    arrange: (e, fqdn) => void (e.host(fqdn).winrm.status = 'Stopped'),
  },
  {
    name: 'partial: running without any listener',
    arrange: (e, fqdn) => void (e.host(fqdn).listeners = []),
  },
  {
    name: 'partial: endpoints disabled and closed to the network (Disable-PSRemoting)',
    arrange: (e, fqdn) => {
      const host = e.host(fqdn);
      host.sessionConfiguration.endpointsEnabled = false;
      host.sessionConfiguration.networkDenied = true;
    },
  },
  {
    name: 'set by Group Policy: the only listener is a GPO listener (AllowAutoConfig)',
    arrange: (e, fqdn) => void (e.host(fqdn).listeners = [listener('HTTP', 5985, { source: 'GPO' })]),
  },
  {
    name: 'set by Group Policy: a GPO listener, WinRM Manual',
    arrange: (e, fqdn) => {
      const host = e.host(fqdn);
      host.listeners = [listener('HTTP', 5985, { source: 'GPO' })];
      host.winrm.startType = 'Manual';
    },
  },
  {
    name: 'owned by someone else: only the HTTPS listener (an earlier onboarding) and a compatibility listener',
    arrange: (e, fqdn) =>
      void (e.host(fqdn).listeners = [listener('HTTP', 80, { source: 'Compatibility' }), listener('HTTPS', 5986)]),
  },
  {
    name: 'owned by someone else: endpoints disabled, only a GPO listener',
    arrange: (e, fqdn) => {
      const host = e.host(fqdn);
      host.listeners = [listener('HTTP', 5985, { source: 'GPO' })];
      host.sessionConfiguration.endpointsEnabled = false;
    },
  },
  {
    name: 'conflicting: WinRM disabled and stopped (rollback does not disable it again)',
    arrange: (e, fqdn) => void (e.host(fqdn).winrm = { status: 'Stopped', startType: 'Disabled' }),
  },
  {
    name: 'conflicting: the HTTP listener disabled, its firewall exception off',
    arrange: (e, fqdn) => {
      const host = e.host(fqdn);
      host.listeners = [listener('HTTP', 5985, { enabled: false }), listener('HTTPS', 5986, { enabled: false })];
      host.firewall.rules = host.firewall.rules.map((r) => ({ ...r, enabled: false }));
    },
  },
  {
    name: 'rollback without saved state (rollbackTo null) is refused',
    arrange: (e, fqdn) => void (e.host(fqdn).winrm.startType = 'Manual'),
    calls: rollbackTo(null),
  },
  {
    name: 'rollback to a partial state (no listeners, no endpointsEnabled) is refused',
    calls: rollbackTo({ serviceStatus: 'Running', startType: 'Manual' }),
  },
  {
    name: 'rollback to a hostile start type is refused',
    calls: rollbackTo({ ...SAVED, startType: "Manual'; Stop-Service WinRM; '", endpointsEnabled: true }),
  },
  {
    name: 'rollback to a start type Set-Service takes but Get-Service never reports for WinRM (Boot) is refused',
    calls: rollbackTo({ ...SAVED, startType: 'Boot', endpointsEnabled: true }),
  },
  {
    name: 'rollback to a hostile service status is refused',
    calls: rollbackTo({ ...SAVED, serviceStatus: 'Running\u0000', endpointsEnabled: true }),
  },
  {
    name: 'rollback to a listener no WinRM has (transport, port) is refused',
    calls: [
      ...rollbackTo({ ...SAVED, listeners: [{ transport: 'FTP', port: 21 }], endpointsEnabled: true }),
      ...rollbackTo({ ...SAVED, listeners: [{ transport: 'HTTP', port: 70000 }], endpointsEnabled: true }),
      ...rollbackTo({ ...SAVED, listeners: { transport: 'HTTP', port: 5985 }, endpointsEnabled: true }),
    ],
  },
  {
    name: 'rollback to Disabled leaves WinRM Automatic',
    calls: rollbackTo({ ...SAVED, startType: 'Disabled', listeners: [], endpointsEnabled: false }),
  },
  {
    name: 'rollback to the start type it already has changes nothing',
    calls: rollbackTo({ ...SAVED, startType: 'Automatic', listeners: [], endpointsEnabled: true }),
  },
  {
    name: 'parameters the step does not take are refused',
    calls: [
      { label: 'plan', mode: 'plan', params: { Force: true } },
      { label: 'apply', mode: 'apply', params: { Mode: "apply'; Remove-Item C:\\ -Recurse; '" } },
    ],
  },
];

describeStepContract('Enable-Remoting', { step: 'enableRemoting', cases: CASES });
