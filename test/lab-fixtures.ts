/** Shared set-up of the lab tests: a validated fleet, an estate that matches it, and state views. */
import { validateFleet, type FleetSpec } from '../domain/fleet';
import { contextOf, scriptCallFor } from '../domain/onboarding';
import type { ScriptCall } from '../domain/scripts';
import type { StepId } from '../domain/steps';
import type { LabEstate } from '../lab/estate';

export { estateFor } from './support/fleet-files';

export const MONOSYNC = ['10.0.0.10', '10.0.0.11'];

export function fleet(servers: string[], policy: Record<string, unknown> = {}): FleetSpec {
  const result = validateFleet({
    fleet: 'lab-test',
    serviceAccount: 'CORP\\monosync_svc',
    monosyncServers: MONOSYNC,
    approvers: ['alice'],
    approvals: 'unsigned',
    policy,
    servers,
  });
  if (!result.ok) throw new Error(result.problems.join('\n'));
  return result.spec;
}

export function callFor(spec: FleetSpec, step: StepId, mode: ScriptCall['mode'], index = 0): ScriptCall {
  return scriptCallFor(step, mode, spec.servers[index], contextOf(spec));
}

/** Everything a script may change: the host, AD and the worker (not counters or the fault plan). */
export function world(estate: LabEstate, fqdn: string) {
  estate.host(fqdn);
  const state = estate.toJSON();
  return { host: state.hosts[fqdn], ad: state.ad, worker: state.worker };
}
