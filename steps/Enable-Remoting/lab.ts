/**
 * Enable-Remoting: the WinRM service running and Automatic, at least one listener, default endpoints
 * enabled — what `Enable-PSRemoting -Force` leaves behind.
 */
import type { z } from 'zod';
import type { LabHost } from '../../lab/model';
import { runStateStep, type Handler, type HandlerContext, type StateStep } from '../../lab/state-step';
import { step } from './step';

type State = z.infer<typeof step.state>;

const hostOf = (ctx: HandlerContext): LabHost => ctx.host(ctx.subject);
const hasHttp = (listeners: State['listeners']) => listeners.some((l) => l.transport === 'HTTP');

export function readRemoting(host: LabHost): State {
  return {
    serviceStatus: host.winrm.status,
    startType: host.winrm.startType,
    listeners: host.listeners.filter((l) => l.enabled).map((l) => ({ transport: l.transport, port: l.port })),
    endpointsEnabled: host.sessionConfiguration.endpointsEnabled,
  };
}

const model: StateStep<State, object> = {
  module: step,
  read: (ctx) => readRemoting(hostOf(ctx)),
  desire: (_ctx, _params, before) => ({
    state: {
      serviceStatus: 'Running',
      startType: 'Automatic',
      listeners: before.listeners.length > 0 ? before.listeners : [{ transport: 'HTTP', port: 5985 }],
      endpointsEnabled: true,
    },
  }),
  write(ctx, _params, from, to) {
    const host = hostOf(ctx);
    host.winrm.status = to.serviceStatus === 'Stopped' ? 'Stopped' : 'Running';
    host.winrm.startType = to.startType === 'Manual' || to.startType === 'Disabled' ? to.startType : 'Automatic';
    host.sessionConfiguration.endpointsEnabled = to.endpointsEnabled;
    if (hasHttp(to.listeners) && !hasHttp(from.listeners)) {
      const existing = host.listeners.find((l) => l.transport === 'HTTP' && l.source === 'Local');
      if (existing) existing.enabled = true;
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
    if (!hasHttp(to.listeners) && hasHttp(from.listeners)) {
      host.listeners = host.listeners.filter((l) => !(l.transport === 'HTTP' && l.source === 'Local'));
    }
  },
  // The reference: never disable WinRM on an Exchange server (its management depends on it) and
  // roll back only the listener this step created. The start type and endpoints are restored.
  restore(_ctx, _params, current, target) {
    const warnings = current.serviceStatus !== target.serviceStatus ? ['WinRM is left running: Exchange needs it'] : [];
    const keepHttps = current.listeners.filter((l) => l.transport !== 'HTTP');
    const http = hasHttp(target.listeners) ? current.listeners.filter((l) => l.transport === 'HTTP') : [];
    return {
      state: {
        serviceStatus: current.serviceStatus,
        startType: target.startType,
        listeners: current.listeners.filter((l) => http.includes(l) || keepHttps.includes(l)),
        endpointsEnabled: target.endpointsEnabled,
      },
      warnings,
    };
  },
};

export const enableRemotingLab: Handler = (ctx) => runStateStep(model, ctx);
