/**
 * Get-OnboardingSnapshot: the whole server state in one read, each part read by its own step's reader, so
 * the snapshot and the steps report the same facts (a step's plan `before`). It refuses rollback (there
 * is nothing to undo).
 *
 * In the lab a host whose WinRM is stopped is still readable (the real first contact has its own
 * channel); `remoting.serviceStatus` says so. What only WinRM can tell is then read as the script reads it
 * without starting WinRM: no listeners and no HTTPS listener, endpoints neither enabled nor readable (the
 * endpoint ACL reads as not admitting the group), and the WSMan: settings empty, with only their Group
 * Policy flags (from the registry). An account that no domain resolves (a host outside the domain) is no
 * member of Remote Management Users.
 */
import { fail, failed, isFail, paramsOf, type Handler } from '../../lab/state-step';
import { listenerPolicyProblem, readRemoting, readWinrmPolicy, startPolicyProblem } from '../Enable-Remoting/lab';
import { readRemoteManagement } from '../Grant-RemoteManagement/lab';
import { readCbt } from '../Set-CbtHardening/lab';
import { readListener } from '../Set-HttpsListener/lab';
import { readFirewallStep } from '../Set-MonosyncFirewallRule/lab';
import { readTrustedHosts } from '../Set-TrustedHosts/lab';
import { step, type ServerSnapshot } from './step';

export const preflightLab: Handler = (ctx) => {
  const params = paramsOf(ctx, step);
  if (isFail(params)) return failed(params.error);
  if (ctx.call.mode === 'rollback') {
    return failed(fail('InvalidInput', 'Get-OnboardingSnapshot only reads: there is nothing to roll back').error);
  }
  const host = ctx.host(ctx.subject);
  const running = host.winrm.status === 'Running';
  const remoteManagement = readRemoteManagement(host, params.ServiceAccount);
  const snapshot: ServerSnapshot = {
    fqdn: host.fqdn,
    computerName: host.computerName,
    domainJoined: host.domainJoined,
    isDomainController: host.isDomainController,
    isEdgeTransport: host.isEdgeTransport,
    osVersion: host.osVersion,
    psVersion: host.psVersion,
    remoteManagement: {
      ...remoteManagement,
      member: host.domainJoined && remoteManagement.member,
      endpointAllowsGroup: running && remoteManagement.endpointAllowsGroup,
      networkDenied: running && remoteManagement.networkDenied,
    },
    remoting: readRemoting(host),
    winrmPolicy: readWinrmPolicy(host),
    httpsListener: running ? readListener(host) : { listener: null, certificate: null },
    cbt: running ? readCbt(host) : { level: '', policyControlled: host.cbt.policyControlled },
    trustedHosts: running
      ? readTrustedHosts(host.trustedHosts)
      : { value: '', policyControlled: host.trustedHosts.policyControlled },
    firewall: readFirewallStep(host),
  };
  const warnings = [
    ...(host.fqdn === params.Fqdn ? [] : [`the server calls itself ${host.fqdn}, not ${params.Fqdn}`]),
    ...(running ? [] : ['WinRM is not running: its listeners, endpoints and WSMan: settings were not read']),
    // Reported, not failed: the steps that would fight the policy stop for an operator (PolicyControlled).
    ...[listenerPolicyProblem(host), startPolicyProblem(host)].filter((p): p is string => p !== null),
  ];
  return {
    ok: true,
    compliant: true,
    changed: false,
    before: snapshot,
    after: snapshot,
    evidence: { certificates: host.certificates.length },
    warnings,
  };
};
