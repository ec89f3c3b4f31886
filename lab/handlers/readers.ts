/**
 * How the scripts read a host's state, shared by the step handlers and the snapshot so both report
 * the same facts in the same shape (the shapes of STEP_STATE_SCHEMAS).
 */
import type { StepState } from '../../domain/steps';
import { accountSid } from '../identity';
import type { LabCertificate, LabHost, LabListener } from '../model';
import { MONOSYNC_RULE_NAME } from '../profiles';

/** Listeners are selected by transport; `Compatibility` listeners (80/443) belong to IIS and are ignored. */
export function httpsListener(host: LabHost): LabListener | undefined {
  return host.listeners.find((l) => l.transport === 'HTTPS' && l.source !== 'Compatibility');
}

export function certificateByThumbprint(host: LabHost, thumbprint: string): LabCertificate | undefined {
  const wanted = thumbprint.toUpperCase();
  return host.certificates.find((c) => c.thumbprint.toUpperCase() === wanted);
}

export function readRemoteManagement(host: LabHost, account: string): StepState<'grantRemoteManagement'> {
  const sid = accountSid(account);
  return {
    member: host.remoteManagementUsers.members.some((m) => m.sid === sid),
    groupName: host.remoteManagementUsers.groupName,
    endpointAllowsGroup: host.sessionConfiguration.allowsRemoteManagementUsers,
    networkDenied: host.sessionConfiguration.networkDenied,
  };
}

export function readRemoting(host: LabHost): StepState<'enableRemoting'> {
  return {
    serviceStatus: host.winrm.status,
    startType: host.winrm.startType,
    listeners: host.listeners.filter((l) => l.enabled).map((l) => ({ transport: l.transport, port: l.port })),
    endpointsEnabled: host.sessionConfiguration.endpointsEnabled,
  };
}

export function readListener(host: LabHost): StepState<'ensureHttpsListener'> {
  const listener = httpsListener(host);
  if (!listener) return { listener: null, certificate: null };
  const cert = certificateByThumbprint(host, listener.thumbprint);
  return {
    listener: { port: listener.port, hostname: listener.hostname, thumbprint: listener.thumbprint },
    certificate: cert ? { ...cert, dnsNames: [...cert.dnsNames] } : null,
  };
}

export function readCbt(host: LabHost): StepState<'setCbtHardening'> {
  return { level: host.cbt.level, policyControlled: host.cbt.policyControlled };
}

export function readTrustedHosts(value: { value: string; policyControlled: boolean }): StepState<'setTrustedHosts'> {
  return { value: value.value, policyControlled: value.policyControlled };
}

export function readFirewall(host: LabHost, ruleName = MONOSYNC_RULE_NAME): StepState<'openFirewall'> {
  const rule = host.firewall.rules.find((r) => r.name.toLowerCase() === ruleName.toLowerCase());
  if (!rule) return { rule: null };
  return {
    rule: {
      name: rule.name,
      enabled: rule.enabled,
      localPorts: [...rule.localPorts],
      remoteAddresses: [...rule.remoteAddresses],
    },
  };
}
