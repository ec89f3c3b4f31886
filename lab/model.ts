/**
 * The shape of the simulated estate: Exchange hosts, Active Directory, the worker, counters and the
 * fault plan. Plain JSON on purpose, so a whole estate can be written to a file and picked up by
 * another process (the dev server's workers, the benchmark).
 */
import type { ScriptMode } from '../domain/envelope';
import type { ScriptTarget } from '../domain/scripts';
import type { ScriptName } from '../domain/steps';
import type { CertificateInfo } from '../steps/Set-HttpsListener/step';
import type { ProfileName } from './profiles';

export const LAB_STATE_SCHEMA = 'monosync.lab.estate/v1';

/** A certificate in `Cert:\LocalMachine\My`; the same facts the scripts report. */
export type LabCertificate = CertificateInfo;

export type ListenerTransport = 'HTTP' | 'HTTPS';
/** `GPO` and `Compatibility` listeners belong to someone else and are never modified. */
export type ListenerSource = 'Local' | 'GPO' | 'Compatibility';

export interface LabListener {
  address: string;
  transport: ListenerTransport;
  port: number;
  hostname: string;
  thumbprint: string;
  enabled: boolean;
  source: ListenerSource;
}

/** An HTTP.sys SSL binding as `netsh http show sslcert` lists it. */
export interface LabSslBinding {
  /** `0.0.0.0:5986` */
  ipPort: string;
  certificateHash: string;
  appId: string;
}

/**
 * A scheduled task as Get-ScheduledTask / Get-ScheduledTaskInfo report it. `Running` with LastTaskResult
 * 0x41301 is a task started and still to do its work: the lab runner runs it when the next session reaches
 * the host (the script that started it has returned by then).
 */
export interface LabScheduledTask {
  /** Task folder, e.g. `\Monosync\`. */
  path: string;
  name: string;
  state: 'Ready' | 'Running' | 'Disabled';
  /** The last run's exit code, or SCHED_S_TASK_HAS_NOT_RUN 267011 (0x41303) / SCHED_S_TASK_RUNNING 267009 (0x41301). */
  lastTaskResult: number;
  runAs: string;
}

/** An inbound allow rule for TCP; the lab models no other kind. */
export interface LabFirewallRule {
  name: string;
  enabled: boolean;
  localPorts: number[];
  remoteAddresses: string[];
  /** Domain, Private and/or Public in Windows' order; left out = Any (every profile). */
  profiles?: string[];
}

export interface LabGroupMember {
  sid: string;
  account: string;
}

export type ServiceStatus = 'Running' | 'Stopped';
export type StartType = 'Automatic' | 'Manual' | 'Disabled';

export interface LabHost {
  fqdn: string;
  computerName: string;
  profile: ProfileName;
  /**
   * False for an Edge Transport or workgroup server: no KDC of the worker's forest knows it, so every
   * Kerberos session the lab runner opens to it is refused (KerberosUnreachable, lab/estate.ts winrmRefusal).
   */
  domainJoined: boolean;
  isDomainController: boolean;
  isEdgeTransport: boolean;
  osVersion: string;
  psVersion: string;
  /**
   * A change made under the session that carries it (CBT, the HTTPS listener: steps with `cutsConnection`)
   * cuts that session when true (error 995). Enable-Remoting restarts WinRM only after its script returned.
   */
  dropsConnectionOnRestart: boolean;
  /** Local group S-1-5-32-580 under its (localized) name. */
  remoteManagementUsers: {
    groupName: string;
    members: LabGroupMember[];
    /**
     * A Group Policy 'Restricted Groups' entry for this group (as RSOP_RestrictedGroup reports it): its
     * members, names or '*<SID>', are the group's whole membership, put back at every policy refresh.
     */
    restrictedBy?: { gpo: string; members: string[] };
  };
  /** The default PowerShell endpoints (`Microsoft.PowerShell` and friends). */
  sessionConfiguration: {
    /** `Microsoft.PowerShell`, the endpoint Monosync connects to, is enabled. */
    endpointsEnabled: boolean;
    allowsRemoteManagementUsers: boolean;
    networkDenied: boolean;
    /** Other default endpoints an administrator disabled on purpose (`microsoft.powershell32`, `...workflow`). */
    disabledByAdmin?: string[];
  };
  winrm: { status: ServiceStatus; startType: StartType };
  /**
   * Group Policy 'Allow remote server management through WinRM' enabled (HKLM\SOFTWARE\Policies\Microsoft\
   * Windows\WinRM\Service: AllowAutoConfig 1, IPv4Filter, IPv6Filter): WinRM listens only on the addresses the
   * filters match ('*' all, 'a-b,c-d' ranges), an EMPTY filter on none of that family, whatever listener is
   * configured. WinRM lists the policy's own HTTP listener with Source GPO. Left out = not configured.
   */
  winrmListenerPolicy?: { ipv4Filter: string; ipv6Filter: string };
  /**
   * A Group Policy 'System Services' entry for WinRM (as RSOP_SystemService reports it): the start type every
   * policy refresh puts back, and its GPO. Left out = none.
   */
  winrmServicePolicy?: { startType: StartType; gpo: string };
  /** Task Scheduler tasks the steps registered (Enable-Remoting's one-shot task); left out = none. */
  scheduledTasks?: LabScheduledTask[];
  /**
   * WinRM restarting: how many more sessions to this host fail to connect before it answers again
   * (lab/lab-runner.ts counts them down); left out or 0 = answering.
   */
  winrmRestart?: { unanswered: number };
  /** How many sessions one WinRM restart refuses on this host, the lab's stand-in for its seconds; default 2. */
  winrmRestartRefuses?: number;
  /**
   * How many times WinRM on this host restarted under the lab runner: a session opened before a restart is
   * dropped mid-call when it returns (the restart ends every shell). Left out = none.
   */
  winrmRestarts?: number;
  /**
   * The account the onboarding connects with, as this host sees it. 'local-administrator': a local account
   * of the host in its Administrators group that is not the built-in Administrator (RID 500), so UAC remote
   * restrictions give its network logon a filtered token and WinRM refuses every session ('Access is
   * denied.') unless `localAccountTokenFilterPolicy` is 1. Left out = a domain account, not filtered.
   */
  onboardingAccount?: 'domain' | 'local-administrator';
  /** HKLM\SOFTWARE\Microsoft\Windows\CurrentVersion\Policies\System LocalAccountTokenFilterPolicy; left out = 0. */
  localAccountTokenFilterPolicy?: 0 | 1;
  listeners: LabListener[];
  certificates: LabCertificate[];
  /**
   * Exchange's certificates and the services each is bound to (Get-ExchangeCertificate's Services: IIS,
   * SMTP, IMAP, POP, UM), by thumbprint; left out = the Exchange snap-in is not installed.
   */
  exchangeCertificateServices?: Record<string, string[]>;
  /** Test-Certificate -Policy SSL's error for a certificate whose chain this server does not trust, by thumbprint. */
  certificateChainErrors?: Record<string, string>;
  /**
   * HTTP.sys SSL bindings WinRM does not keep (the one of an HTTPS listener follows the listener and is not
   * listed): left behind by a listener removed without WinRM, or another program's.
   */
  httpSysSslBindings?: LabSslBinding[];
  cbt: { level: string; policyControlled: boolean };
  trustedHosts: { value: string; policyControlled: boolean };
  /** `enabled` false = Windows Firewall off; `localRulesApply` false = GPO set AllowLocalFirewallRules False. */
  firewall: { enabled: boolean; localRulesApply: boolean; rules: LabFirewallRule[] };
}

export interface LabComputerObject {
  samAccountName: string;
  distinguishedName: string;
  dnsHostName: string;
  objectGuid: string;
  trustedForDelegation: boolean;
  trustedToAuthForDelegation: boolean;
  allowedToDelegateTo: string[];
  resourceBasedDelegation: boolean;
  /**
   * A change of TrustedForDelegation on one DC that the others have not replicated yet: until
   * `replicatesAt` (lab time) every other DC still reads `staleTrustedForDelegation`.
   */
  replication?: { writtenOn: string; replicatesAt: string; staleTrustedForDelegation: boolean };
}

/** A user object as the delegation step reads it (the Monosync service account). */
export interface LabUserObject {
  samAccountName: string;
  sid: string;
  /** "Account is sensitive and cannot be delegated" (userAccountControl NOT_DELEGATED). */
  accountNotDelegated: boolean;
  /** tokenGroups: the SIDs of every security group the user is in, nested groups included. */
  groupSids: string[];
}

/** Active Directory as the AD management host reaches it. */
export interface LabDirectory {
  /** By sAMAccountName (`EXCH01$`). */
  computers: Record<string, LabComputerObject>;
  /** By SID; the estate's service account is always there. Left out in estates saved before users were modelled. */
  users?: Record<string, LabUserObject>;
  /**
   * Every DC the locator can answer with, in turns (`locatorNext`); left out = LabSettings.domainController
   * alone. A write on one reaches the others after `replicationDelayMs` (left out or 0 = at once).
   */
  domainControllers?: string[];
  locatorNext?: number;
  replicationDelayMs?: number;
}

/** The Monosync side: the WinRM client that runs acceptance tests and may hold TrustedHosts. */
export interface LabWorker {
  trustedHosts: { value: string; policyControlled: boolean };
  /** Source addresses the worker connects from; empty = any scoped firewall rule is assumed to admit it. */
  addresses: string[];
}

export interface LabSettings {
  /** DNS name of the AD domain that lazily created hosts and computer objects belong to. */
  domain: string;
  domainController: string;
  /** The runtime account profiles like `onboarded` already carry as a member. */
  serviceAccount: string;
  /** Addresses profiles like `onboarded` already admit in their firewall rule. */
  monosyncServers: string[];
  defaultProfile: ProfileName;
  /** The CbtHardeningLevel profiles like `onboarded` already carry (the fleet policy's default, Relaxed). */
  cbtHardeningLevel: string;
  /** TrustedHosts of `onboarded` hosts; left out = the Monosync server addresses. */
  onboardedTrustedHosts?: string;
}

export interface ScriptCounter {
  calls: number;
  changes: number;
  faults: number;
}
/** subject (server FQDN) → script → counter. */
export type CounterState = Record<string, Partial<Record<ScriptName, ScriptCounter>>>;

export type FaultKind = 'error' | 'hang' | 'tls-verify-fails';

/** Which calls a fault rule applies to; every field left out matches anything. */
export interface FaultScope {
  /** Server FQDN the call is about (the Exchange target, the AD computer's host, or the worker's `onBehalfOf`). */
  host?: string;
  script?: ScriptName;
  mode?: ScriptMode;
  runsOn?: ScriptTarget['host'];
  /** How many times the rule fires; left out = every time. */
  times?: number;
  /** Chance (0..1) that a matching call is hit, drawn from the estate's seeded generator. */
  probability?: number;
}

export interface FaultRule extends FaultScope {
  id: string;
  kind: FaultKind;
  /** Error code the failed envelope carries (kind `error`, or `hang` with a delay). */
  code?: string;
  message?: string;
  /** `after-change`: the handler runs and mutates state, then the call fails (a crash before returning). */
  when: 'before-change' | 'after-change';
  /** For `hang`: how long the call hangs; left out = until the caller aborts or the runner closes. */
  delayMs?: number;
  hits: number;
}

export interface FaultState {
  seed: number;
  /** State of the seeded generator, so a saved estate continues the same sequence. */
  rng: number;
  injected: number;
  nextId: number;
  rules: FaultRule[];
}

export interface LabState {
  schema: typeof LAB_STATE_SCHEMA;
  settings: LabSettings;
  /** Lab time = real time + offset; persisted so every process sharing the estate sees the same clock. */
  clock: { offsetMs: number };
  hosts: Record<string, LabHost>;
  /** Profiles for hosts that do not exist yet; applied when the host is first touched. */
  assignments: Record<string, ProfileName>;
  /**
   * Computer names chosen at domain join instead of Windows' default (the host name's first 15 characters),
   * by FQDN: how two hosts whose names truncate alike get distinct objects.
   */
  computerNames?: Record<string, string>;
  ad: LabDirectory;
  worker: LabWorker;
  counters: CounterState;
  faults: FaultState;
}
