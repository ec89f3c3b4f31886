/**
 * Enable-Remoting: the WinRM service running and Automatic, at least one listener, default endpoints
 * enabled — what `Enable-PSRemoting -Force` leaves behind. Modelled the way Enable-Remoting.ps1 does it,
 * and held to it by contract.test.ts (the script through the seam against the same host state):
 * - a stopped WinRM answers nothing, so its listeners and endpoints read as none until it runs;
 * - apply sets the start type, starts the service, and only when that is not enough runs Enable-PSRemoting
 *   (listener, firewall exception, endpoints enabled and open to the network), naming what it did in
 *   evidence.actions;
 * - rollback restores only the start type, never Disabled, and refuses a saved state it did not write.
 */
import type { z } from 'zod';
import type { LabHost, StartType } from '../../lab/model';
import { fail, runStateStep, type Handler, type HandlerContext, type StateStep } from '../../lab/state-step';
import { step } from './step';

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
const ACTION_ENABLE = 'Enable-PSRemoting -Force -SkipNetworkProfileCheck';
const LEFT_RUNNING =
  'WinRM is left running (Exchange needs it); the listener, firewall and endpoint changes of Enable-PSRemoting are not undone';

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

/** Enable-PSRemoting -Force: quickconfig, then every endpoint enabled and open to the network. */
export function enablePSRemoting(host: LabHost): void {
  quickConfig(host);
  host.sessionConfiguration.endpointsEnabled = true;
  host.sessionConfiguration.networkDenied = false;
}

/** What apply runs on this host, in the script's order: least first, Enable-PSRemoting only if needed. */
function actionsFor(host: LabHost, before: State): string[] {
  const actions: string[] = [];
  if (before.startType !== 'Automatic') actions.push(ACTION_START_TYPE);
  if (before.serviceStatus !== 'Running') actions.push(ACTION_START);
  const started = readRemoting({ ...host, winrm: { status: 'Running', startType: 'Automatic' } });
  if (!remotingReady(started)) actions.push(ACTION_ENABLE);
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
    if (remotingReady(before)) return { state: before };
    return {
      state: {
        serviceStatus: 'Running',
        startType: 'Automatic',
        listeners: before.listeners.length > 0 ? before.listeners : [{ transport: 'HTTP', port: 5985 }],
        endpointsEnabled: true,
      },
      evidence: ctx.call.mode === 'apply' ? { actions: actionsFor(hostOf(ctx), before) } : {},
    };
  },
  write(ctx, _params, from, to) {
    const host = hostOf(ctx);
    if (ctx.call.mode === 'rollback') {
      host.winrm.startType = to.startType as StartType;
      return;
    }
    if (from.startType !== 'Automatic') host.winrm.startType = 'Automatic';
    if (from.serviceStatus !== 'Running') host.winrm.status = 'Running';
    if (!remotingReady(readRemoting(host))) enablePSRemoting(host);
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

export const enableRemotingLab: Handler = (ctx) => runStateStep(model, ctx);
