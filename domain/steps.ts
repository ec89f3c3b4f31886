/**
 * The step catalogue: every step of the vendor's manual, in order, with where it runs, the script that
 * carries it out, and the contract of its state. Workflows, activities, the CLI, the lab and the
 * PowerShell scripts all take their step facts from here.
 */
import { z } from 'zod';

export const STEP_IDS = [
  'preflight',
  'grantRemoteManagement',
  'enableKerberosDelegation',
  'enableRemoting',
  // Before the listener: Windows has no built-in rule for 5986, and the listener change is verified
  // over a fresh TLS connection from the Monosync side, which the firewall must already admit.
  'openFirewall',
  'ensureHttpsListener',
  'setCbtHardening',
  'setTrustedHosts',
  'verifyConnectivity',
] as const;
export type StepId = (typeof STEP_IDS)[number];

/** Where a step's script runs: on the Exchange server, on the AD management host, or on the worker itself. */
export type StepHost = 'exchange' | 'ad' | 'worker' | 'policy';

export interface StepDefinition {
  id: StepId;
  title: string;
  /** Section of the vendor's manual this step carries out. */
  manual: string;
  script: ScriptName;
  runsOn: StepHost;
  readOnly: boolean;
  /** Changing this can drop the WinRM connection the change travels on: reconnect, verify, roll back. */
  cutsConnection: boolean;
}

export const SCRIPT_NAMES = [
  'Get-OnboardingSnapshot',
  'Grant-RemoteManagement',
  'Enable-KerberosDelegation',
  'Enable-Remoting',
  'Set-HttpsListener',
  'Set-CbtHardening',
  'Set-TrustedHosts',
  'Set-MonosyncFirewallRule',
  'Test-MonosyncConnectivity',
] as const;
export type ScriptName = (typeof SCRIPT_NAMES)[number];

export const STEPS: readonly StepDefinition[] = [
  {
    id: 'preflight',
    title: 'Preflight: reach WinRM and read the server state',
    manual: '-',
    script: 'Get-OnboardingSnapshot',
    runsOn: 'exchange',
    readOnly: true,
    cutsConnection: false,
  },
  {
    id: 'grantRemoteManagement',
    title: 'Service account in Remote Management Users',
    manual: '1',
    script: 'Grant-RemoteManagement',
    runsOn: 'exchange',
    readOnly: false,
    cutsConnection: false,
  },
  {
    id: 'enableKerberosDelegation',
    title: 'Kerberos delegation on the computer object',
    manual: '2',
    script: 'Enable-KerberosDelegation',
    runsOn: 'ad',
    readOnly: false,
    cutsConnection: false,
  },
  {
    id: 'enableRemoting',
    title: 'PowerShell remoting and the WinRM service',
    manual: '3.1',
    script: 'Enable-Remoting',
    runsOn: 'exchange',
    readOnly: false,
    cutsConnection: true,
  },
  {
    id: 'openFirewall',
    title: 'Firewall: WinRM from the Monosync servers',
    manual: '4',
    script: 'Set-MonosyncFirewallRule',
    runsOn: 'exchange',
    readOnly: false,
    cutsConnection: false,
  },
  {
    id: 'ensureHttpsListener',
    title: 'WinRM HTTPS listener and certificate',
    manual: '3.2-3.3.1',
    script: 'Set-HttpsListener',
    runsOn: 'exchange',
    readOnly: false,
    cutsConnection: true,
  },
  {
    id: 'setCbtHardening',
    title: 'WinRM CbtHardeningLevel',
    manual: '3.4',
    script: 'Set-CbtHardening',
    runsOn: 'exchange',
    readOnly: false,
    cutsConnection: true,
  },
  {
    id: 'setTrustedHosts',
    title: 'WSMan TrustedHosts',
    manual: '3.5',
    script: 'Set-TrustedHosts',
    runsOn: 'policy',
    readOnly: false,
    cutsConnection: false,
  },
  {
    id: 'verifyConnectivity',
    title: 'Acceptance: WinRM over HTTPS and the Kerberos second hop',
    manual: 'acceptance',
    script: 'Test-MonosyncConnectivity',
    runsOn: 'worker',
    readOnly: true,
    cutsConnection: false,
  },
];

export function stepDefinition(id: StepId): StepDefinition {
  const def = STEPS.find((s) => s.id === id);
  if (!def) throw new Error(`unknown step ${id}`);
  return def;
}

/** Steps that change state, in the order the manual gives them. */
export const CHANGE_STEPS = STEPS.filter((s) => !s.readOnly).map((s) => s.id);

// --- State contracts: what each script reports as `before` and `after` ---

const isoDate = z.string().refine((v) => !Number.isNaN(Date.parse(v)), { error: 'must be an ISO 8601 date' });

export const certificateInfoSchema = z.object({
  thumbprint: z.string(),
  subject: z.string(),
  issuer: z.string(),
  dnsNames: z.array(z.string()),
  notBefore: isoDate,
  notAfter: isoDate,
  hasPrivateKey: z.boolean(),
  serverAuth: z.boolean(),
  selfSigned: z.boolean(),
});
export type CertificateInfo = z.infer<typeof certificateInfoSchema>;

export const remoteManagementStateSchema = z.object({
  member: z.boolean(),
  groupName: z.string(),
  endpointAllowsGroup: z.boolean(),
  networkDenied: z.boolean(),
});

export const delegationStateSchema = z.object({
  distinguishedName: z.string(),
  trustedForDelegation: z.boolean(),
  trustedToAuthForDelegation: z.boolean(),
  allowedToDelegateTo: z.array(z.string()),
  resourceBasedDelegation: z.boolean(),
});

export const remotingStateSchema = z.object({
  serviceStatus: z.string(),
  startType: z.string(),
  listeners: z.array(z.object({ transport: z.string(), port: z.number() })),
  endpointsEnabled: z.boolean(),
});

export const listenerStateSchema = z.object({
  listener: z.object({ port: z.number(), hostname: z.string(), thumbprint: z.string() }).nullable(),
  certificate: certificateInfoSchema.nullable(),
});

export const cbtStateSchema = z.object({ level: z.string(), policyControlled: z.boolean() });

export const trustedHostsStateSchema = z.object({ value: z.string(), policyControlled: z.boolean() });

export const firewallRuleSchema = z.object({
  name: z.string(),
  enabled: z.boolean(),
  localPorts: z.array(z.number()),
  remoteAddresses: z.array(z.string()),
});
export const firewallStateSchema = z.object({ rule: firewallRuleSchema.nullable() });

export const connectivityStateSchema = z.object({
  wsmanHttps: z.boolean(),
  kerberosSecondHop: z.boolean(),
  servedThumbprint: z.string().nullable(),
});

export const snapshotSchema = z.object({
  fqdn: z.string(),
  computerName: z.string(),
  domainJoined: z.boolean(),
  isDomainController: z.boolean(),
  isEdgeTransport: z.boolean(),
  osVersion: z.string(),
  psVersion: z.string(),
  remoteManagement: remoteManagementStateSchema,
  remoting: remotingStateSchema,
  httpsListener: listenerStateSchema,
  cbt: cbtStateSchema,
  trustedHosts: trustedHostsStateSchema,
  firewall: firewallStateSchema,
});
export type ServerSnapshot = z.infer<typeof snapshotSchema>;

export const STEP_STATE_SCHEMAS = {
  preflight: snapshotSchema,
  grantRemoteManagement: remoteManagementStateSchema,
  enableKerberosDelegation: delegationStateSchema,
  enableRemoting: remotingStateSchema,
  ensureHttpsListener: listenerStateSchema,
  setCbtHardening: cbtStateSchema,
  setTrustedHosts: trustedHostsStateSchema,
  openFirewall: firewallStateSchema,
  verifyConnectivity: connectivityStateSchema,
} as const satisfies Record<StepId, z.ZodType>;

export type StepState<S extends StepId> = z.infer<(typeof STEP_STATE_SCHEMAS)[S]>;

// --- The envelope every script prints (one JSON document on stdout) ---

export const SCRIPT_MODES = ['plan', 'apply', 'rollback'] as const;
export type ScriptMode = (typeof SCRIPT_MODES)[number];

export const ENVELOPE_SCHEMA_ID = 'monosync.onboard.step/v1';

export const scriptErrorSchema = z.object({
  /** Advisory class from the script; the TypeScript side classifies by `code` (failures.ts). */
  class: z.enum(['transient', 'permanent', 'policy', 'precondition', 'auth']),
  /** Stable identifier: a WinRM/Win32 code (0x80338012, 5, 8344) or one of our names (CertNoPrivateKey). */
  code: z.string(),
  message: z.string(),
  fqid: z.string().optional(),
  exceptionType: z.string().optional(),
});
export type ScriptError = z.infer<typeof scriptErrorSchema>;

export const envelopeSchema = z.object({
  schema: z.literal(ENVELOPE_SCHEMA_ID),
  script: z.enum(SCRIPT_NAMES),
  target: z.string(),
  mode: z.enum(SCRIPT_MODES),
  ok: z.boolean(),
  /** The state found before this call already met the desired state. */
  compliant: z.boolean(),
  /** This call changed something; in plan mode: would change. */
  changed: z.boolean(),
  before: z.unknown(),
  /** The state after the call; in plan mode: the predicted state. */
  after: z.unknown(),
  evidence: z.record(z.string(), z.unknown()).default({}),
  warnings: z.array(z.string()).default([]),
  error: scriptErrorSchema.optional(),
});
export type StepEnvelope = z.infer<typeof envelopeSchema>;
