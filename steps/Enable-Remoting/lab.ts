/**
 * Enable-Remoting: the WinRM service running and Automatic, at least one listener, the Microsoft.PowerShell
 * endpoint enabled. Modelled the way Enable-Remoting.ps1 does it, and held to it by contract.test.ts (the
 * script through the seam against the same host state):
 * - a stopped WinRM answers nothing, so its listeners and endpoints read as none until it runs;
 * - apply sets the start type and starts the service; only when that is not enough it registers and starts
 *   the one-shot task \Monosync\Enable-Remoting (the listener, the endpoint, a WinRM restart), because that
 *   restart would cut the session the script came in on. The task runs when the next session reaches the
 *   host (runRemotingTask, called by lab/lab-runner.ts), and WinRM then refuses sessions for a while;
 * - while the task is still to run every mode fails as WinRMUnavailable (transient); a task that ended
 *   without unregistering itself (it failed) or never started is reported by plan and removed by apply;
 * - other default endpoints an administrator disabled are reported, never enabled;
 * - rollback restores only the start type, never Disabled, and refuses a saved state it did not write;
 * - Group Policy that wins (an empty IPv4 filter of 'Allow remote server management through WinRM', a
 *   'System Services' start type other than Automatic) fails plan and apply as PolicyControlled, unchanged.
 */
import type { z } from 'zod';
import type { LabHost, StartType } from '../../lab/model';
import type { LabScheduledTask } from '../../lab/model';
import {
  fail,
  failed,
  isFail,
  paramsOf,
  runStateStep,
  type Fail,
  type Handler,
  type HandlerContext,
  type StateStep,
} from '../../lab/state-step';
import { step, type WinrmPolicy } from './step';

type State = z.infer<typeof step.state>;

const hostOf = (ctx: HandlerContext): LabHost => ctx.host(ctx.subject);

/** What Set-Service -StartupType takes on Windows PowerShell 5.1, as Get-Service spells it. */
const START_TYPES: readonly StartType[] = ['Automatic', 'Manual', 'Disabled'];
/** System.ServiceProcess.ServiceControllerStatus, as Get-Service spells it. */
const SERVICE_STATUSES = [
  'Stopped',
  'StartPending',
  'StopPending',
  'Running',
  'ContinuePending',
  'PausePending',
  'Paused',
];
const TRANSPORTS = ['HTTP', 'HTTPS'];
/** The firewall exception Enable-PSRemoting and winrm quickconfig enable for the HTTP listener. */
export const WINRM_HTTP_RULE = 'WINRM-HTTP-In-TCP';

const ACTION_START_TYPE = 'Set-Service -StartupType Automatic';
const ACTION_START = 'Start-Service WinRM';

/** The one-shot task that makes the WinRM-restarting changes after the script has returned. */
export const REMOTING_TASK = { path: '\\Monosync\\', name: 'Enable-Remoting' } as const;
const TASK_LABEL = `${REMOTING_TASK.path}${REMOTING_TASK.name}`;
/** Task Scheduler's LastTaskResult values that are not an exit code (SCHED_S_TASK_*, winerror.h). */
export const TASK_HAS_NOT_RUN = 267011;
export const TASK_RUNNING = 267009;
const TASK_QUEUED = 267045;
/** The task's exit codes: the step it was at when it failed (Enable-Remoting.ps1 New-RemotingTaskCommand). */
const TASK_EXIT_CODES: Record<number, string> = {
  10: 'Set-WSManQuickConfig failed (the HTTP listener, its firewall exception, the service)',
  11: 'Enable-PSSessionConfiguration Microsoft.PowerShell failed',
  12: 'Restart-Service WinRM failed',
  13: 'the change was made but the task could not unregister itself',
};
/** The default endpoints besides Microsoft.PowerShell, in the order Get-PSSessionConfiguration lists them. */
const OTHER_ENDPOINTS = ['microsoft.powershell.workflow', 'microsoft.powershell32'];
const LEFT_RUNNING =
  'WinRM is left running (Exchange needs it); the listener, firewall and endpoint changes of enabling remoting are not undone';

export function readRemoting(host: LabHost): State {
  // A stopped WinRM answers nothing: no listener enumeration, and the script never asks for the endpoints
  // then (Get-PSSessionConfiguration would start WinRM through the WSMan: drive).
  const running = host.winrm.status === 'Running';
  return {
    serviceStatus: host.winrm.status,
    startType: host.winrm.startType,
    listeners: running
      ? host.listeners.filter((l) => l.enabled).map((l) => ({ transport: l.transport, port: l.port }))
      : [],
    endpointsEnabled: running && host.sessionConfiguration.endpointsEnabled,
  };
}

/** The Group Policy over WinRM as the scripts read it: the policy registry values and RSoP's 'System Services'. */
export function readWinrmPolicy(host: LabHost): WinrmPolicy {
  const listener = host.winrmListenerPolicy;
  const service = host.winrmServicePolicy;
  return {
    listener: listener ? { ipv4Filter: listener.ipv4Filter.trim(), ipv6Filter: listener.ipv6Filter.trim() } : null,
    serviceStartType: service ? { startType: service.startType, gpo: service.gpo } : null,
  };
}

/** An empty IPv4 filter of 'Allow remote server management through WinRM', and its fix; null when none. */
export function listenerPolicyProblem(host: LabHost): string | null {
  const policy = readWinrmPolicy(host).listener;
  if (!policy || policy.ipv4Filter !== '') return null;
  const ipv6 = policy.ipv6Filter === '' ? 'empty' : `'${policy.ipv6Filter}'`;
  return (
    `the Group Policy 'Windows Remote Management (WinRM) > WinRM Service > Allow remote server management through WinRM' ` +
    `sets an empty IPv4 filter (IPv6 filter ${ipv6}): WinRM listens on no IPv4 address of this server, whatever ` +
    `listener is configured here. Set that policy's IPv4 filter to * (or to ranges that hold this server's ` +
    `addresses), or set the policy to Not Configured; then run gpupdate /force on the server and retry`
  );
}

/** A 'System Services' entry that does not start WinRM automatically, and its fix; null when none. */
export function startPolicyProblem(host: LabHost): string | null {
  const policy = readWinrmPolicy(host).serviceStartType;
  if (!policy || policy.startType === 'Automatic') return null;
  return (
    `the Group Policy 'Security Settings > System Services' (${policy.gpo}) sets the WinRM service's start type ` +
    `to ${policy.startType} at every policy refresh: a start type set here is put back, and WinRM does not start ` +
    `after the next reboot. Set 'Windows Remote Management (WS-Management)' to Automatic in that policy, or make ` +
    `it Not Defined; then run gpupdate /force on the server and retry`
  );
}

export function remotingReady(state: State): boolean {
  return (
    state.serviceStatus === 'Running' &&
    state.startType === 'Automatic' &&
    state.listeners.length > 0 &&
    state.endpointsEnabled
  );
}

/** winrm quickconfig: WinRM started and Automatic, an HTTP listener on every address, its firewall exception. */
export function quickConfig(host: LabHost): void {
  host.winrm = { status: 'Running', startType: 'Automatic' };
  const http = (l: LabHost['listeners'][number]) => l.transport === 'HTTP' && l.address === '*';
  if (!host.listeners.some((l) => http(l) && l.enabled)) {
    const local = host.listeners.find((l) => http(l) && l.source === 'Local');
    if (local) local.enabled = true;
    else {
      host.listeners.unshift({
        address: '*',
        transport: 'HTTP',
        port: 5985,
        hostname: '',
        thumbprint: '',
        enabled: true,
        source: 'Local',
      });
    }
  }
  const rule = host.firewall.rules.find((r) => r.name === WINRM_HTTP_RULE);
  if (rule) rule.enabled = true;
  else host.firewall.rules.push({ name: WINRM_HTTP_RULE, enabled: true, localPorts: [5985], remoteAddresses: ['Any'] });
}

type TaskStatus = 'pending' | 'never-started' | 'ended';

function remotingTask(host: LabHost): LabScheduledTask | undefined {
  return host.scheduledTasks?.find((t) => t.path === REMOTING_TASK.path && t.name === REMOTING_TASK.name);
}

function taskStatus(task: LabScheduledTask): TaskStatus {
  const r = task.lastTaskResult;
  if (task.state === 'Running' || r === TASK_RUNNING || r === TASK_QUEUED) return 'pending';
  return r === TASK_HAS_NOT_RUN ? 'never-started' : 'ended';
}

function taskProblem(task: LabScheduledTask): string {
  if (taskStatus(task) === 'never-started') return `the scheduled task ${TASK_LABEL} was registered but never started`;
  const r = task.lastTaskResult;
  const meaning = TASK_EXIT_CODES[r] ?? 'powershell.exe did not finish the change';
  const shown = r > 65535 ? `0x${r.toString(16).toUpperCase().padStart(8, '0')}` : String(r);
  return `the scheduled task ${TASK_LABEL} ended with exit code ${shown} (${meaning})`;
}

function removeTask(host: LabHost): void {
  host.scheduledTasks = (host.scheduledTasks ?? []).filter(
    (t) => !(t.path === REMOTING_TASK.path && t.name === REMOTING_TASK.name)
  );
}

function pendingFailure(task: LabScheduledTask | undefined): Fail | null {
  if (!task || taskStatus(task) !== 'pending') return null;
  return fail(
    'WinRMUnavailable',
    `the scheduled task ${TASK_LABEL} is still to run (${task.state}): it restarts WinRM within seconds; this step reads the server again once WinRM answers`
  );
}

/** Default endpoints other than Microsoft.PowerShell that an administrator disabled (read only while WinRM runs). */
function otherEndpointsDisabled(host: LabHost): string[] {
  if (host.winrm.status !== 'Running') return [];
  const byAdmin = host.sessionConfiguration.disabledByAdmin ?? [];
  return OTHER_ENDPOINTS.filter((name) => byAdmin.includes(name));
}

/**
 * What Task Scheduler does with the task once the session that started it has returned: the HTTP listener
 * (Set-WSManQuickConfig) when none is enabled, the Microsoft.PowerShell endpoint, a WinRM restart, and the
 * task unregisters itself. Returns whether a task ran (WinRM restarts now: the caller refuses sessions).
 */
export function runRemotingTask(host: LabHost): boolean {
  const task = remotingTask(host);
  if (!task || taskStatus(task) !== 'pending') return false;
  if (!host.listeners.some((l) => l.enabled)) quickConfig(host);
  host.sessionConfiguration.endpointsEnabled = true;
  removeTask(host);
  return true;
}

/** What apply does on this host, in the script's order: least first, the scheduled task only if needed. */
function actionsFor(host: LabHost, before: State): string[] {
  const actions: string[] = [];
  if (before.startType !== 'Automatic') actions.push(ACTION_START_TYPE);
  if (before.serviceStatus !== 'Running') actions.push(ACTION_START);
  const started = readRemoting({ ...host, winrm: { status: 'Running', startType: 'Automatic' } });
  if (!remotingReady(started)) {
    const what = [
      ...(started.listeners.length === 0 ? ['Set-WSManQuickConfig'] : []),
      ...(started.endpointsEnabled ? [] : ['Enable-PSSessionConfiguration Microsoft.PowerShell']),
      'Restart-Service WinRM',
    ];
    actions.push(`scheduled task ${TASK_LABEL} as SYSTEM: ${what.join(', ')}`);
  }
  return actions;
}

/** Why a saved state cannot be what an earlier plan of the script reported, or null. */
function savedStateProblem(saved: State): string | null {
  if (!SERVICE_STATUSES.includes(saved.serviceStatus)) return 'serviceStatus is not a service status Windows reports';
  if (!(START_TYPES as readonly string[]).includes(saved.startType))
    return 'startType must be Automatic, Manual or Disabled';
  for (const l of saved.listeners) {
    if (!TRANSPORTS.includes(l.transport)) return 'listeners holds a transport other than HTTP or HTTPS';
    if (!Number.isInteger(l.port) || l.port < 1 || l.port > 65535)
      return 'listeners holds a port that is not a TCP port';
  }
  return null;
}

const model: StateStep<State, object> = {
  module: step,
  read: (ctx) => readRemoting(hostOf(ctx)),
  desire: (ctx, _params, before) => {
    const host = hostOf(ctx);
    const warnings: string[] = [];
    if (before.serviceStatus !== 'Running')
      warnings.push('WinRM is not running: its listeners and endpoints are read once it runs');
    const others = otherEndpointsDisabled(host);
    if (others.length > 0)
      warnings.push(
        `left disabled, as an administrator chose (Monosync connects to Microsoft.PowerShell only): ${others.join(', ')}`
      );
    if (remotingReady(before)) return { state: before, warnings };
    const state: State = {
      serviceStatus: 'Running',
      startType: 'Automatic',
      listeners: before.listeners.length > 0 ? before.listeners : [{ transport: 'HTTP', port: 5985 }],
      endpointsEnabled: true,
    };
    if (ctx.call.mode !== 'apply') return { state, warnings };
    const actions = actionsFor(host, before);
    const scheduled = actions.some((a) => a.startsWith('scheduled task'));
    if (scheduled)
      warnings.push(
        `WinRM restarts when ${TASK_LABEL} runs, within seconds: sessions to this server drop and it does not answer for a while; the change reads back once it answers again`
      );
    return { state, warnings, evidence: scheduled ? { scheduledTask: TASK_LABEL, actions } : { actions } };
  },
  write(ctx, _params, from, to) {
    const host = hostOf(ctx);
    if (ctx.call.mode === 'rollback') {
      host.winrm.startType = to.startType as StartType;
      return;
    }
    if (from.startType !== 'Automatic') host.winrm.startType = 'Automatic';
    if (from.serviceStatus !== 'Running') host.winrm.status = 'Running';
    if (!remotingReady(readRemoting(host))) {
      removeTask(host);
      host.scheduledTasks = [
        ...(host.scheduledTasks ?? []),
        { ...REMOTING_TASK, state: 'Running', lastTaskResult: TASK_RUNNING, runAs: 'NT AUTHORITY\\SYSTEM' },
      ];
    }
  },
  // Never disable WinRM on an Exchange server (its management depends on it): rollback restores the start
  // type alone, and not Disabled. A saved state the script could not have reported is refused, as it does.
  restore(_ctx, _params, current, target) {
    const problem = savedStateProblem(target);
    if (problem) return fail('InvalidInput', `${step.definition.script} -Mode rollback: rollbackTo.${problem}`);
    const warnings = [LEFT_RUNNING];
    if (target.startType === 'Disabled') {
      if (current.startType !== 'Disabled') warnings.push('the saved start type Disabled is not restored');
      return { state: current, warnings };
    }
    return { state: { ...current, startType: target.startType }, warnings };
  },
};

/**
 * The task first, as the script does after validating its input: one still to run fails every mode
 * (transient), and apply removes one that ended or never started (an ended one on a server still not
 * enabled is the failure to report: its exit code says which command failed).
 */
export const enableRemotingLab: Handler = (ctx) => {
  const params = paramsOf(ctx, step);
  if (isFail(params)) return failed(params.error);
  if (ctx.call.mode === 'rollback') {
    const target = step.state.safeParse(ctx.call.rollbackTo);
    if (!target.success) return runStateStep(model, ctx);
    if (savedStateProblem(target.data)) return runStateStep(model, ctx);
  }
  const host = hostOf(ctx);
  const task = remotingTask(host);
  const pending = pendingFailure(task);
  if (pending) return failed(pending.error);
  // Group Policy that wins over what the step sets stops plan and apply before anything changes.
  if (ctx.call.mode !== 'rollback') {
    const problem = listenerPolicyProblem(host) ?? startPolicyProblem(host);
    if (problem) return failed(fail('PolicyControlled', problem).error);
  }
  if (task && ctx.call.mode !== 'rollback') {
    const problem = taskProblem(task);
    if (ctx.call.mode === 'plan') {
      const result = runStateStep(model, ctx);
      return { ...result, warnings: [...result.warnings, `${problem}; apply removes it`] };
    }
    removeTask(host);
    if (taskStatus(task) === 'ended' && !remotingReady(readRemoting(host))) {
      return {
        ...failed(
          fail(
            'PowerShellError',
            `${problem}; the task was removed. Run Set-WSManQuickConfig and Enable-PSSessionConfiguration Microsoft.PowerShell on the server's console to see the error, fix its cause, then retry.`
          ).error
        ),
        warnings: [`${problem}; removed`],
      };
    }
    const result = runStateStep(model, ctx);
    return { ...result, warnings: [`${problem}; removed`, ...result.warnings] };
  }
  return runStateStep(model, ctx);
};
