/**
 * Host profiles: the situations an onboarding run meets on real Exchange servers, each built from the
 * typical un-onboarded mailbox server by changing exactly what makes it special. Identities are
 * derived from the seed and the FQDN, so the same estate always gets the same thumbprints and GUIDs.
 */
import { defaultComputerName } from '../domain/fleet';
import { MONOSYNC_RULE_NAME } from '../steps/Set-MonosyncFirewallRule/step';
import { addDays, startOfUtcDay, WINRM_APP_ID } from './certificates';
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
  'gpo-trusted-hosts',
  'gpo-restricted-groups',
  'gpo-winrm-ipv4-filter',
  'gpo-winrm-service',
  'winrm-stopped',
  'drops-connection',
  'remoting-disabled',
  'san-only-cert',
  'untrusted-chain',
  'stale-ssl-binding',
] as const;
export type ProfileName = (typeof PROFILE_NAMES)[number];

export const CORP_ISSUER = 'CN=Corp Issuing CA 01, DC=corp, DC=example';

export interface ProfileInput {
  fqdn: string;
  /** The NetBIOS name given at domain join; left out = Windows' default, the first 15 characters. */
  computerName?: string;
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
function clientAccessCert(input: ProfileInput, overrides: Partial<CertSpec> = {}): LabCertificate {
  const domain = input.settings.domain;
  return certificate(input, {
    label: 'client-access',
    subject: `CN=mail.${domain}`,
    dnsNames: [`mail.${domain}`, `autodiscover.${domain}`],
    issuer: CORP_ISSUER,
    fromDays: -60,
    toDays: 670,
    ...overrides,
  });
}

function freshHost(input: ProfileInput, profile: ProfileName): BuiltHost {
  const computerName = input.computerName ?? defaultComputerName(input.fqdn);
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
    // As Get-ExchangeCertificate lists them: setup's own certificate serves everything, the client-access
    // one IIS and SMTP; the machine certificates are Exchange's to see but not bound ('None').
    exchangeCertificateServices: Object.fromEntries([
      [olderMachineCert(input).thumbprint, []],
      [currentMachineCert(input).thumbprint, []],
      [exchangeSelfSignedCert(input, computerName).thumbprint, ['IMAP', 'POP', 'IIS', 'SMTP']],
      [clientAccessCert(input).thumbprint, ['IIS', 'SMTP']],
    ]),
    cbt: { level: 'Relaxed', policyControlled: false },
    trustedHosts: { value: '', policyControlled: false },
    firewall: {
      enabled: true,
      localRulesApply: true,
      // What Enable-PSRemoting enables on Windows Server: 5985 from anywhere on the Domain and Private profiles.
      rules: [
        {
          name: 'WINRM-HTTP-In-TCP',
          enabled: true,
          localPorts: [5985],
          remoteAddresses: ['Any'],
          profiles: ['Domain', 'Private'],
        },
      ],
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
    profiles: ['Domain'],
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
    case 'gpo-trusted-hosts':
      // 'WinRM Client > Trusted Hosts' lists the admins' jump host; a local write is refused.
      host.trustedHosts = { value: `jump.${input.settings.domain}`, policyControlled: true };
      return built;
    case 'gpo-restricted-groups':
      // A security baseline's Restricted Groups entry names the group's only members; every refresh puts them back.
      host.remoteManagementUsers.restrictedBy = {
        gpo: `cn={6AC1786C-016F-11D2-945F-00C04FB984F9},cn=policies,cn=system,${domainComponents(input.settings.domain)}`,
        members: [`${input.settings.domain.split('.')[0].toUpperCase()}\\Server Admins`],
      };
      return built;
    case 'gpo-winrm-ipv4-filter':
      // 'Allow remote server management through WinRM' with the IPv4 filter left blank (an IPv6-only baseline):
      // WinRM answers over IPv6 only; its GPO listener replaces the local one.
      host.winrmListenerPolicy = { ipv4Filter: '', ipv6Filter: '*' };
      host.listeners = [
        { address: '*', transport: 'HTTP', port: 5985, hostname: '', thumbprint: '', enabled: true, source: 'GPO' },
      ];
      return built;
    case 'gpo-winrm-service':
      // A hardening baseline's 'System Services' entry disables WinRM: still running until the next reboot,
      // and every refresh puts Disabled back.
      host.winrm = { status: 'Running', startType: 'Disabled' };
      host.winrmServicePolicy = {
        startType: 'Disabled',
        gpo: `cn={31B2F340-016D-11D2-945F-00C04FB984F9},cn=policies,cn=system,${domainComponents(input.settings.domain)}`,
      };
      return built;
    case 'winrm-stopped':
      host.winrm = { status: 'Stopped', startType: 'Manual' };
      return built;
    case 'drops-connection':
      host.dropsConnectionOnRestart = true;
      return built;
    case 'remoting-disabled':
      // Microsoft.PowerShell disabled and no HTTP listener (a hardening baseline undone by hand), the 32-bit
      // endpoint disabled by an admin on purpose: Enable-Remoting schedules its task, WinRM restarts.
      host.sessionConfiguration.endpointsEnabled = false;
      host.sessionConfiguration.disabledByAdmin = ['microsoft.powershell32'];
      host.listeners = [];
      return built;
    case 'san-only-cert': {
      // No AD CS machine certificate: an Exchange SAN certificate that lists the server's FQDN among its
      // names (CN=mail.<domain>), and setup's own CN=<computer name>. WinRM binds neither (0x803380E9).
      const san = clientAccessCert(input, {
        label: 'client-access-san',
        dnsNames: [`mail.${input.settings.domain}`, input.fqdn],
      });
      host.certificates = [san, ...host.certificates.filter((c) => c.selfSigned)];
      host.exchangeCertificateServices = {
        ...host.exchangeCertificateServices,
        [san.thumbprint]: ['IIS', 'SMTP'],
      };
      return built;
    }
    case 'untrusted-chain': {
      // The machine certificates come from a CA whose root this server does not trust (a lab CA, a root
      // removed from the store): Test-Certificate -Policy SSL refuses them.
      const refused =
        'A certificate chain processed, but terminated in a root certificate which is not trusted by the ' +
        'trust provider. 0x800B0109 (-2146762487 CERT_E_UNTRUSTEDROOT)';
      host.certificateChainErrors = Object.fromEntries(
        host.certificates.filter((c) => c.issuer === CORP_ISSUER).map((c) => [c.thumbprint, refused])
      );
      return built;
    }
    case 'stale-ssl-binding':
      // An HTTPS listener removed without WinRM (its registry key deleted, a GPO withdrawn) left HTTP.sys
      // holding last year's certificate on 0.0.0.0:5986: WinRM cannot create a listener over it.
      host.httpSysSslBindings = [
        {
          ipPort: '0.0.0.0:5986',
          certificateHash: olderMachineCert(input).thumbprint.toLowerCase(),
          appId: WINRM_APP_ID,
        },
      ];
      return built;
  }
}
