/**
 * Get-OnboardingSnapshot: the whole server state in one read. In the lab a host whose WinRM is
 * stopped is still readable (the real first contact has its own channel); `remoting.serviceStatus`
 * says so.
 */
import { failed, isFail, paramsOf, type Handler } from '../../lab/state-step';
import { readRemoting } from '../Enable-Remoting/lab';
import { readRemoteManagement } from '../Grant-RemoteManagement/lab';
import { readCbt } from '../Set-CbtHardening/lab';
import { readListener } from '../Set-HttpsListener/lab';
import { readFirewall } from '../Set-MonosyncFirewallRule/lab';
import { readTrustedHosts } from '../Set-TrustedHosts/lab';
import { step, type ServerSnapshot } from './step';

/** Each part read by its own step's reader, so the snapshot and the steps report the same facts. */
export const preflightLab: Handler = (ctx) => {
  const params = paramsOf(ctx, step);
  if (isFail(params)) return failed(params.error);
  const host = ctx.host(ctx.subject);
  const snapshot: ServerSnapshot = {
    fqdn: host.fqdn,
    computerName: host.computerName,
    domainJoined: host.domainJoined,
    isDomainController: host.isDomainController,
    isEdgeTransport: host.isEdgeTransport,
    osVersion: host.osVersion,
    psVersion: host.psVersion,
    remoteManagement: readRemoteManagement(host, params.ServiceAccount),
    remoting: readRemoting(host),
    httpsListener: readListener(host),
    cbt: readCbt(host),
    trustedHosts: readTrustedHosts(host.trustedHosts),
    firewall: readFirewall(host),
  };
  return {
    ok: true,
    compliant: true,
    changed: false,
    before: snapshot,
    after: snapshot,
    evidence: { profile: host.profile, certificates: host.certificates.length },
    warnings: [],
  };
};
