/**
 * Enable-Remoting: the WinRM service running and Automatic, at least one listener, default endpoints
 * enabled — what `Enable-PSRemoting -Force` leaves behind.
 */
import { STEP_STATE_SCHEMAS, type StepState } from '../../domain/steps';
import type { LabHost } from '../model';
import { readRemoting } from './readers';
import { paramsOf, runStateStep, subjectFqdn, type Handler, type HandlerContext, type StateStep } from './kit';

type State = StepState<'enableRemoting'>;

const hostOf = (ctx: HandlerContext): LabHost => ctx.host(subjectFqdn(ctx.call) ?? '');
const hasHttp = (listeners: State['listeners']) => listeners.some((l) => l.transport === 'HTTP');

const step: StateStep<State, object> = {
  script: 'Enable-Remoting',
  schema: STEP_STATE_SCHEMAS.enableRemoting,
  params: (ctx) => paramsOf(ctx, 'Enable-Remoting'),
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

export const enableRemoting: Handler = (ctx) => runStateStep(step, ctx);
