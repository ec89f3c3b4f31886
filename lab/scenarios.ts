/**
 * Ready-made estates: the example fleet (a mix of the situations a real fleet has) and a large,
 * uniform fleet for the benchmark.
 */
import { defaultComputerName, type FleetSpec, type ServerSpec } from '../domain/fleet';
import { LabEstate, type LabCreateOptions } from './estate';
import { protectedUsersSid } from './identity';
import type { LabSettings } from './model';
import type { ProfileName } from './profiles';

/** Deterministic mix: most servers are plain, a few show the pitfalls the onboarding must handle. */
export const EXAMPLE_PROFILE_CYCLE: readonly ProfileName[] = [
  'fresh',
  'fresh',
  'german',
  'winrm-stopped',
  'expiring-cert',
];

function settingsFrom(spec: FleetSpec, overrides: Partial<LabSettings> = {}): Partial<LabSettings> {
  const domain = spec.domain ?? 'corp.example';
  return {
    domain,
    domainController: spec.domainController ?? `dc01.${domain}`,
    serviceAccount: spec.serviceAccount,
    monosyncServers: [...spec.monosyncServers],
    ...overrides,
  };
}

/** The computer name the fleet file gives a server, when it is not Windows' default: its hosts were joined so. */
function joinedAs(server: ServerSpec): string | undefined {
  return server.computerName === defaultComputerName(server.fqdn) ? undefined : server.computerName;
}

export function profileForServer(fqdn: string, index: number): ProfileName {
  if (fqdn.split('.')[0].toLowerCase().startsWith('edge')) return 'edge';
  return EXAMPLE_PROFILE_CYCLE[index % EXAMPLE_PROFILE_CYCLE.length];
}

export function exampleEstate(spec: FleetSpec, options: LabCreateOptions = {}): LabEstate {
  const estate = LabEstate.create({ ...options, settings: settingsFrom(spec, options.settings) });
  spec.servers.forEach((server, index) =>
    estate.assign(server.fqdn, profileForServer(server.fqdn, index), joinedAs(server))
  );
  return estate;
}

/** Every server fresh; hosts are built only when a run first touches them. */
export function largeFleetEstate(spec: FleetSpec, options: LabCreateOptions = {}): LabEstate {
  const estate = LabEstate.create({
    ...options,
    settings: settingsFrom(spec, { ...options.settings, defaultProfile: 'fresh' }),
  });
  for (const server of spec.servers) estate.assign(server.fqdn, 'fresh', joinedAs(server));
  return estate;
}

/**
 * Windows situations that refuse a WinRM session before any script runs, set as properties of the lab host
 * (lab/model.ts): the lab runner refuses every session to it (lab/estate.ts winrmRefusal) with Invoke-Command's
 * error record (lab/session-text.ts), which the production parser classifies.
 */
export const TRANSPORT_SCENARIOS = {
  /**
   * A workgroup server (the 'edge' profile is the Edge Transport one): no KDC of the worker's forest knows
   * it, so Kerberos cannot authenticate to it at all ('Cannot find the computer <fqdn>'). Every WinRM call
   * to it fails the same way, which waiting does not change: the fleet reports it not applicable.
   */
  kerberosUnreachable(estate: LabEstate, fqdn: string): void {
    estate.host(fqdn).domainJoined = false;
  },
  /**
   * UAC remote restrictions: the onboarding identity is a local administrator of the server that is
   * neither a domain account nor the built-in Administrator, so a network logon gets its filtered
   * (non-admin) token and WinRM refuses it ('Access is denied.') unless LocalAccountTokenFilterPolicy is
   * 1 on the server. The product reports it and leaves that policy alone.
   */
  uacRemoteRestrictions(estate: LabEstate, fqdn: string): void {
    estate.host(fqdn).onboardingAccount = 'local-administrator';
  },
  /**
   * 'Allow remote server management through WinRM' enabled with both the IPv4 and the IPv6 filter empty:
   * WinRM listens on no address at all (its GPO listener replaces the local one), so every connection
   * fails as if WinRM were not there.
   */
  winrmListensNowhere(estate: LabEstate, fqdn: string): void {
    const host = estate.host(fqdn);
    host.winrmListenerPolicy = { ipv4Filter: '', ipv6Filter: '' };
    host.listeners = [
      { address: '*', transport: 'HTTP', port: 5985, hostname: '', thumbprint: '', enabled: true, source: 'GPO' },
    ];
  },
} as const;

/** Active Directory as the delegation step meets it on a real domain (steps/Enable-KerberosDelegation). */
export const DIRECTORY_SCENARIOS = {
  /**
   * The computer object of the server's default name (the first 15 characters of its host name) belongs to
   * another host: a longer name truncated alike, or a stale object. Its DNSHostName says whose it is.
   */
  computerNameTaken(estate: LabEstate, fqdn: string, ownerFqdn: string): void {
    const computer = estate.computer(defaultComputerName(fqdn));
    if (!computer) throw new Error(`the lab has no computer object for ${fqdn}`);
    computer.dnsHostName = ownerFqdn;
  },
  /** Monosync's account in Protected Users, through a nested group (tokenGroups lists both). */
  serviceAccountProtected(estate: LabEstate): void {
    const user = estate.user(estate.settings.serviceAccount);
    if (!user) throw new Error('the lab has no user object for the service account');
    user.groupSids.push(`${user.sid.slice(0, user.sid.lastIndexOf('-'))}-1105`, protectedUsersSid(user.sid));
  },
  /** Monosync's account marked "Account is sensitive and cannot be delegated". */
  serviceAccountNotDelegated(estate: LabEstate): void {
    const user = estate.user(estate.settings.serviceAccount);
    if (!user) throw new Error('the lab has no user object for the service account');
    user.accountNotDelegated = true;
  },
  /**
   * Two DCs (the estate's and a second one) the locator answers with in turn; a change written on one is
   * seen on the other only `replicationDelayMs` later (default 15 minutes, inside one site's usual range).
   */
  twoDomainControllers(estate: LabEstate, replicationDelayMs = 15 * 60_000): void {
    const first = estate.settings.domainController;
    estate.useDomainControllers([first, `dc02.${estate.settings.domain}`], replicationDelayMs);
  },
} as const;

/**
 * Group Policy that wins over a local setting (lab/profiles.ts builds each): a local change would be
 * refused or undone at the next refresh, so the step changes nothing and stops for an operator with a
 * message naming the policy and the fix (test/group-policy.test.ts).
 */
export const GROUP_POLICY_SCENARIOS = {
  /** 'WinRM Service > Specify channel binding token hardening level' holds CbtHardeningLevel at Relaxed. */
  cbtHardeningLevel: 'gpo-cbt',
  /** 'WinRM Client > Trusted Hosts' holds the admins' jump host. */
  trustedHosts: 'gpo-trusted-hosts',
  /** A Restricted Groups entry sets Remote Management Users to 'Server Admins' alone. */
  restrictedGroups: 'gpo-restricted-groups',
  /** 'WinRM Service > Allow remote server management through WinRM' with an empty IPv4 filter: no IPv4 address. */
  winrmIpv4Filter: 'gpo-winrm-ipv4-filter',
  /** A 'System Services' entry sets the WinRM service Disabled. */
  winrmService: 'gpo-winrm-service',
} as const satisfies Record<string, ProfileName>;
