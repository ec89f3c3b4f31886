/**
 * Each step's lab model (`steps/<Script>/lab.ts`), as the real estate has one .ps1 per script. Keyed
 * by step id and typed against the catalogue, so a step added to `domain/steps.ts` without its lab
 * model does not compile.
 */
import { STEPS, type ScriptName, type StepId } from '../domain/steps';
import { enableKerberosDelegationLab } from '../steps/Enable-KerberosDelegation/lab';
import { enableRemotingLab } from '../steps/Enable-Remoting/lab';
import { preflightLab } from '../steps/Get-OnboardingSnapshot/lab';
import { grantRemoteManagementLab } from '../steps/Grant-RemoteManagement/lab';
import { setCbtHardeningLab } from '../steps/Set-CbtHardening/lab';
import { ensureHttpsListenerLab } from '../steps/Set-HttpsListener/lab';
import { openFirewallLab } from '../steps/Set-MonosyncFirewallRule/lab';
import { setTrustedHostsLab } from '../steps/Set-TrustedHosts/lab';
import { verifyConnectivityLab } from '../steps/Test-MonosyncConnectivity/lab';
import type { Handler } from './state-step';

export const STEP_MODELS: Readonly<Record<StepId, Handler>> = {
  preflight: preflightLab,
  grantRemoteManagement: grantRemoteManagementLab,
  enableKerberosDelegation: enableKerberosDelegationLab,
  enableRemoting: enableRemotingLab,
  openFirewall: openFirewallLab,
  ensureHttpsListener: ensureHttpsListenerLab,
  setCbtHardening: setCbtHardeningLab,
  setTrustedHosts: setTrustedHostsLab,
  verifyConnectivity: verifyConnectivityLab,
};

/** The lab model that answers a script call, by the script's step. */
export const MODEL_OF_SCRIPT = Object.fromEntries(STEPS.map((s) => [s.script, STEP_MODELS[s.id]])) as Readonly<
  Record<ScriptName, Handler>
>;

export type { Handler, HandlerContext, HandlerResult } from './state-step';
