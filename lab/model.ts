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

/** An inbound allow rule for TCP; the lab models no other kind. */
export interface LabFirewallRule {
  name: string;
  enabled: boolean;
  localPorts: number[];
  remoteAddresses: string[];
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
  domainJoined: boolean;
  isDomainController: boolean;
  isEdgeTransport: boolean;
  osVersion: string;
  psVersion: string;
  /** Enable-PSRemoting restarts WinRM; when true the session the change travelled on is cut (error 995). */
  dropsConnectionOnRestart: boolean;
  /** Local group S-1-5-32-580 under its (localized) name. */
  remoteManagementUsers: { groupName: string; members: LabGroupMember[] };
  /** The default PowerShell endpoints (`Microsoft.PowerShell` and friends). */
  sessionConfiguration: { endpointsEnabled: boolean; allowsRemoteManagementUsers: boolean; networkDenied: boolean };
  winrm: { status: ServiceStatus; startType: StartType };
  listeners: LabListener[];
  certificates: LabCertificate[];
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
  /** The CbtHardeningLevel profiles like `onboarded` already carry (the fleet policy's default). */
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
  ad: { computers: Record<string, LabComputerObject> };
  worker: LabWorker;
  counters: CounterState;
  faults: FaultState;
}
