/**
 * Host profiles: the situations an onboarding run meets on real Exchange servers, each built from the
 * typical un-onboarded mailbox server by changing exactly what makes it special. Identities are
 * derived from the seed and the FQDN, so the same estate always gets the same thumbprints and GUIDs.
 */
import { defaultComputerName } from '../domain/fleet';
import { MONOSYNC_RULE_NAME } from '../steps/Set-MonosyncFirewallRule/step';
import { addDays, startOfUtcDay } from './certificates';
import { accountSid, domainComponents, downLevelName, guidFor, thumbprintFor } from './identity';
import type { LabCertificate, LabComputerObject, LabHost, LabSettings } from './model';

export const PROFILE_NAMES = [
  'fresh',
  'onboarded',
  'edge',
  'expiring-cert',
  'expired-only',
  'no-private-key',
  'german',
  'gpo-cbt',
  'winrm-stopped',
  'drops-connection',
] as const;
export type ProfileName = (typeof PROFILE_NAMES)[number];

export const CORP_ISSUER = 'CN=Corp Issuing CA 01, DC=corp, DC=example';

export interface ProfileInput {
  fqdn: string;
  settings: LabSettings;
  seed: number;
  now: Date;
}

export interface BuiltHost {
  host: LabHost;
  /** Absent for hosts outside the domain (Edge Transport). */
  computer?: LabComputerObject;
}

export function isProfileName(value: string): value is ProfileName {
  return (PROFILE_NAMES as readonly string[]).includes(value);
}

interface CertSpec {
  label: string;
  subject: string;
  dnsNames: string[];
  issuer: string;
  /** Validity relative to the start of the lab's current UTC day, so plans made the same day agree. */
  fromDays: number;
  toDays: number;
  hasPrivateKey?: boolean;
  selfSigned?: boolean;
}

function certificate(input: ProfileInput, spec: CertSpec): LabCertificate {
  const day = startOfUtcDay(input.now);
  return {
    thumbprint: thumbprintFor(`${input.seed}|${input.fqdn}|${spec.label}`),
    subject: spec.subject,
    issuer: spec.issuer,
    dnsNames: spec.dnsNames,
    notBefore: addDays(day, spec.fromDays).toISOString(),
    notAfter: addDays(day, spec.toDays).toISOString(),
    hasPrivateKey: spec.hasPrivateKey ?? true,
    serverAuth: true,
    selfSigned: spec.selfSigned ?? false,
  };
}

/** The AD CS machine certificate: one year left, the FQDN in subject and SAN. */
function currentMachineCert(input: ProfileInput, overrides: Partial<CertSpec> = {}): LabCertificate {
  return certificate(input, {
    label: 'machine-current',
    subject: `CN=${input.fqdn}`,
    dnsNames: [input.fqdn],
    issuer: CORP_ISSUER,
    fromDays: -1,
    toDays: 365,
    ...overrides,
  });
}

/** Last year's machine certificate, still valid for a while: picking it would mean an early rotation. */
function olderMachineCert(input: ProfileInput): LabCertificate {
  return certificate(input, {
    label: 'machine-older',
    subject: `CN=${input.fqdn}`,
    dnsNames: [input.fqdn],
    issuer: CORP_ISSUER,
    fromDays: -300,
    toDays: 65,
  });
}

/** Exchange setup's own self-signed certificate: five years, so a naive "longest valid" rule picks it. */
function exchangeSelfSignedCert(input: ProfileInput, computerName: string): LabCertificate {
  return certificate(input, {
    label: 'exchange-self-signed',
    subject: `CN=${computerName}`,
    dnsNames: [computerName, input.fqdn],
    issuer: `CN=${computerName}`,
    fromDays: -200,
    toDays: 5 * 365 - 200,
    selfSigned: true,
  });
}

/** The IIS certificate for client access names: valid and CA-issued, but it does not name the server. */
function clientAccessCert(input: ProfileInput): LabCertificate {
  const domain = input.settings.domain;
  return certificate(input, {
    label: 'client-access',
    subject: `CN=mail.${domain}`,
    dnsNames: [`mail.${domain}`, `autodiscover.${domain}`],
    issuer: CORP_ISSUER,
    fromDays: -60,
    toDays: 670,
  });
}

function freshHost(input: ProfileInput, profile: ProfileName): BuiltHost {
  const computerName = defaultComputerName(input.fqdn);
  const host: LabHost = {
    fqdn: input.fqdn,
    computerName,
    profile,
    domainJoined: true,
    isDomainController: false,
    isEdgeTransport: false,
    osVersion: '10.0.17763',
    psVersion: '5.1.17763.6414',
    dropsConnectionOnRestart: false,
    remoteManagementUsers: { groupName: 'Remote Management Users', members: [] },
    sessionConfiguration: { endpointsEnabled: true, allowsRemoteManagementUsers: true, networkDenied: false },
    winrm: { status: 'Running', startType: 'Automatic' },
    listeners: [
      { address: '*', transport: 'HTTP', port: 5985, hostname: '', thumbprint: '', enabled: true, source: 'Local' },
    ],
    certificates: [
      olderMachineCert(input),
      currentMachineCert(input),
      exchangeSelfSignedCert(input, computerName),
      clientAccessCert(input),
    ],
    cbt: { level: 'Relaxed', policyControlled: false },
    trustedHosts: { value: '', policyControlled: false },
    firewall: {
      enabled: true,
      localRulesApply: true,
      rules: [{ name: 'WINRM-HTTP-In-TCP', enabled: true, localPorts: [5985], remoteAddresses: ['Any'] }],
    },
  };
  const sam = `${computerName}$`;
  const computer: LabComputerObject = {
    samAccountName: sam,
    distinguishedName: `CN=${computerName},OU=Exchange Servers,OU=Servers,${domainComponents(input.settings.domain)}`,
    dnsHostName: input.fqdn,
    objectGuid: guidFor(`${input.seed}|computer|${sam}`),
    trustedForDelegation: false,
    trustedToAuthForDelegation: false,
    allowedToDelegateTo: [],
    resourceBasedDelegation: false,
  };
  return { host, computer };
}

/** Everything a default fleet policy asks for, already in place. */
function onboard(built: BuiltHost, settings: LabSettings, listenerThumbprint: string): BuiltHost {
  const { host, computer } = built;
  host.remoteManagementUsers.members.push({
    sid: accountSid(settings.serviceAccount),
    account: downLevelName(settings.serviceAccount),
  });
  host.listeners.push({
    address: '*',
    transport: 'HTTPS',
    port: 5986,
    hostname: host.fqdn,
    thumbprint: listenerThumbprint,
    enabled: true,
    source: 'Local',
  });
  host.cbt.level = settings.cbtHardeningLevel;
  host.trustedHosts.value = settings.onboardedTrustedHosts ?? settings.monosyncServers.join(',');
  host.firewall.rules.push({
    name: MONOSYNC_RULE_NAME,
    enabled: true,
    localPorts: [5985, 5986],
    remoteAddresses: [...settings.monosyncServers],
  });
  if (computer) computer.trustedForDelegation = true;
  return built;
}

export function buildHost(profile: ProfileName, input: ProfileInput): BuiltHost {
  const built = freshHost(input, profile);
  const { host } = built;
  switch (profile) {
    case 'fresh':
      return built;
    case 'onboarded':
      return onboard(built, input.settings, currentMachineCert(input).thumbprint);
    case 'expiring-cert': {
      const expiring = currentMachineCert(input, { label: 'machine-expiring', fromDays: -355, toDays: 10 });
      const renewed = currentMachineCert(input, { label: 'machine-renewed', fromDays: -2, toDays: 363 });
      host.certificates = [expiring, renewed, ...host.certificates.filter((c) => c.selfSigned)];
      return onboard(built, input.settings, expiring.thumbprint);
    }
    case 'edge':
      host.domainJoined = false;
      host.isEdgeTransport = true;
      host.certificates = host.certificates.filter((c) => c.selfSigned);
      return { host };
    case 'expired-only':
      host.certificates = [currentMachineCert(input, { label: 'machine-expired', fromDays: -370, toDays: -5 })];
      return built;
    case 'no-private-key':
      host.certificates = [currentMachineCert(input, { label: 'machine-no-key', hasPrivateKey: false })];
      return built;
    case 'german':
      host.remoteManagementUsers.groupName = 'Remoteverwaltungsbenutzer';
      host.osVersion = '10.0.17763 (de-DE)';
      return built;
    case 'gpo-cbt':
      host.cbt = { level: 'Relaxed', policyControlled: true };
      return built;
    case 'winrm-stopped':
      host.winrm = { status: 'Stopped', startType: 'Manual' };
      return built;
    case 'drops-connection':
      host.dropsConnectionOnRestart = true;
      return built;
  }
}
