/**
 * Enable-Remoting.ps1 and its lab model (lab.ts) agree: for each starting state below, the real script
 * (in pwsh, through the seam bound to the lab's JSON host by test/powershell/LabSeam.psm1) and the lab
 * handler return equal envelopes for plan → apply → verify → rollback → verify, and leave the host in the
 * same state. See test/support/script-contract.ts for what is compared.
 */
import type { LabHost, LabScheduledTask } from '../../lab/model';
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

/** The step's one-shot task as Task Scheduler reports it, in the given state. */
const remotingTask = (state: LabScheduledTask['state'], lastTaskResult: number): LabScheduledTask => ({
  path: '\\Monosync\\',
  name: 'Enable-Remoting',
  state,
  lastTaskResult,
  runAs: 'NT AUTHORITY\\SYSTEM',
});
/** SCHED_S_TASK_RUNNING and SCHED_S_TASK_HAS_NOT_RUN (winerror.h). */
const TASK_RUNNING = 267009;
const TASK_HAS_NOT_RUN = 267011;
/** plan → apply → plan → apply: a second apply after one that removed or scheduled a task. */
const PLAN_APPLY_TWICE = [
  { label: 'plan', mode: 'plan' as const },
  { label: 'apply', mode: 'apply' as const },
  { label: 'plan after apply', mode: 'plan' as const },
  { label: 'apply again', mode: 'apply' as const },
];

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
    name: "set by Group Policy: 'Allow remote server management through WinRM' with an empty IPv4 filter (PolicyControlled, nothing changed)",
    profile: 'gpo-winrm-ipv4-filter',
  },
  {
    name: 'set by Group Policy: the same policy listening on every IPv4 address (compliant)',
    profile: 'gpo-winrm-ipv4-filter',
    arrange: (e, fqdn) => void (e.host(fqdn).winrmListenerPolicy = { ipv4Filter: '*', ipv6Filter: '' }),
  },
  {
    name: "set by Group Policy: 'System Services' sets WinRM Disabled (PolicyControlled, nothing changed)",
    profile: 'gpo-winrm-service',
  },
  {
    name: "set by Group Policy: 'System Services' sets WinRM Manual, WinRM stopped (PolicyControlled before it is started)",
    profile: 'gpo-winrm-service',
    arrange: (e, fqdn) => {
      const host = e.host(fqdn);
      host.winrm = { status: 'Stopped', startType: 'Manual' };
      host.winrmServicePolicy = { startType: 'Manual', gpo: 'cn={31B2F340-016D-11D2-945F-00C04FB984F9}' };
    },
  },
  {
    name: "set by Group Policy: 'System Services' sets WinRM Automatic, the start type Manual until the refresh (changed)",
    profile: 'gpo-winrm-service',
    arrange: (e, fqdn) => {
      const host = e.host(fqdn);
      host.winrm.startType = 'Manual';
      host.winrmServicePolicy = { startType: 'Automatic', gpo: 'cn={31B2F340-016D-11D2-945F-00C04FB984F9}' };
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
    name: 'partial: Microsoft.PowerShell disabled, the 32-bit and workflow endpoints disabled by an admin (scheduled; only Microsoft.PowerShell is named)',
    arrange: (e, fqdn) => {
      const host = e.host(fqdn);
      host.sessionConfiguration.endpointsEnabled = false;
      host.sessionConfiguration.disabledByAdmin = ['microsoft.powershell.workflow', 'microsoft.powershell32'];
    },
  },
  {
    name: 'compliant: Microsoft.PowerShell enabled, the 32-bit endpoint disabled by an admin (left as it is)',
    arrange: (e, fqdn) => void (e.host(fqdn).sessionConfiguration.disabledByAdmin = ['microsoft.powershell32']),
  },
  {
    name: 'in flight: the scheduled task still to run (every mode WinRMUnavailable, nothing touched)',
    arrange: (e, fqdn) => {
      const host = e.host(fqdn);
      host.listeners = [];
      host.scheduledTasks = [remotingTask('Running', TASK_RUNNING)];
    },
  },
  {
    name: 'leftover: the scheduled task failed (exit code 10) and remoting is still off (apply removes it and fails)',
    arrange: (e, fqdn) => {
      const host = e.host(fqdn);
      host.listeners = [];
      host.scheduledTasks = [remotingTask('Ready', 10)];
    },
    calls: PLAN_APPLY_TWICE,
  },
  {
    name: 'leftover: the scheduled task registered but never started (apply removes it and schedules anew)',
    arrange: (e, fqdn) => {
      const host = e.host(fqdn);
      host.sessionConfiguration.endpointsEnabled = false;
      host.scheduledTasks = [remotingTask('Ready', TASK_HAS_NOT_RUN)];
    },
    calls: PLAN_APPLY_TWICE,
  },
  {
    name: 'leftover: the change made but the task could not unregister itself (exit code 13; apply removes it)',
    arrange: (e, fqdn) => void (e.host(fqdn).scheduledTasks = [remotingTask('Ready', 13)]),
    calls: PLAN_APPLY_TWICE,
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
