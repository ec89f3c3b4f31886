/**
 * Get-OnboardingSnapshot: the whole server state in one read. In the lab a host whose WinRM is
 * stopped is still readable (the real first contact has its own channel); `remoting.serviceStatus`
 * says so.
 */
import type { ServerSnapshot } from '../../domain/steps';
import { failed, isFail, paramsOf, subjectFqdn, type Handler } from './kit';
import { readCbt, readFirewall, readListener, readRemoteManagement, readRemoting, readTrustedHosts } from './readers';

export const getOnboardingSnapshot: Handler = (ctx) => {
  const params = paramsOf(ctx, 'Get-OnboardingSnapshot');
  if (isFail(params)) return failed(params.error);
  const host = ctx.host(subjectFqdn(ctx.call) ?? params.Fqdn);
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
