/**
 * The activities: one per manual step, each a check → change → verify unit over a PowerShell runner,
 * and one the fleet workflow uses to learn which of its servers have closed.
 * Workflows import only the type of `createActivities`.
 */
import { getClient, heartbeat, log } from '@temporalio/activity';
import type { StepOutcome, StepRequest } from '../domain/onboarding';
import type { StepId } from '../domain/steps';
import type { PowerShellRunner } from '../powershell/runner';
import { findClosedServers, type TrackedServer } from './find-closed-servers';
import { runStep } from './run-step';

export function createActivities(runner: PowerShellRunner) {
  const step =
    (id: StepId) =>
    (req: StepRequest): Promise<StepOutcome> =>
      runStep(runner, id, req);
  const steps = {
    preflight: step('preflight'),
    grantRemoteManagement: step('grantRemoteManagement'),
    enableKerberosDelegation: step('enableKerberosDelegation'),
    enableRemoting: step('enableRemoting'),
    openFirewall: step('openFirewall'),
    ensureHttpsListener: step('ensureHttpsListener'),
    setCbtHardening: step('setCbtHardening'),
    setTrustedHosts: step('setTrustedHosts'),
    verifyConnectivity: step('verifyConnectivity'),
  } satisfies Record<StepId, (req: StepRequest) => Promise<StepOutcome>>;
  return {
    ...steps,
    /** For the fleet workflow: asks Temporal, through the worker's own connection, not Windows. */
    findClosedServers: (servers: TrackedServer[]) =>
      findClosedServers({ client: getClient(), progress: () => heartbeat(), warn: (m, f) => log.warn(m, f) }, servers),
  };
}

export type OnboardingActivities = ReturnType<typeof createActivities>;
