/**
 * The activities: one per manual step, each a check → change → verify unit over a PowerShell runner.
 * Workflows import only the type of `createActivities`.
 */
import type { StepOutcome, StepRequest } from '../domain/onboarding';
import type { StepId } from '../domain/steps';
import type { PowerShellRunner } from '../powershell/runner';
import { runStep } from './run-step';

export function createActivities(runner: PowerShellRunner) {
  const step =
    (id: StepId) =>
    (req: StepRequest): Promise<StepOutcome> =>
      runStep(runner, id, req);
  return {
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
}

export type OnboardingActivities = ReturnType<typeof createActivities>;
