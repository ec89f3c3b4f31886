/** One handler per script, as the real estate has one .ps1 per script. */
import type { ScriptName } from '../../domain/steps';
import { enableKerberosDelegation } from './enable-kerberos-delegation';
import { enableRemoting } from './enable-remoting';
import { getOnboardingSnapshot } from './get-onboarding-snapshot';
import { grantRemoteManagement } from './grant-remote-management';
import type { Handler } from './kit';
import { setCbtHardening } from './set-cbt-hardening';
import { setHttpsListener } from './set-https-listener';
import { setMonosyncFirewallRule } from './set-monosync-firewall-rule';
import { setTrustedHosts } from './set-trusted-hosts';
import { testMonosyncConnectivity } from './test-monosync-connectivity';

export const HANDLERS: Record<ScriptName, Handler> = {
  'Get-OnboardingSnapshot': getOnboardingSnapshot,
  'Grant-RemoteManagement': grantRemoteManagement,
  'Enable-KerberosDelegation': enableKerberosDelegation,
  'Enable-Remoting': enableRemoting,
  'Set-HttpsListener': setHttpsListener,
  'Set-CbtHardening': setCbtHardening,
  'Set-TrustedHosts': setTrustedHosts,
  'Set-MonosyncFirewallRule': setMonosyncFirewallRule,
  'Test-MonosyncConnectivity': testMonosyncConnectivity,
};

export type { Handler, HandlerContext, HandlerResult } from './kit';
