/**
 * What a step activity is asked to do and what it answers, and how a step request becomes a script
 * call. Shared by workflows (types only), activities and the CLI.
 */
import { trustedHostsEntries, type FleetSpec, type ServerSpec } from './fleet';
import type { PlannedChange } from './risk';
import type { ScriptCall, ScriptTarget } from './scripts';
import { stepDefinition, type StepId } from './steps';

/** The part of the fleet spec every step of one server needs (no server list, nothing secret). */
export type OnboardingContext = Pick<
  FleetSpec,
  'serviceAccount' | 'domain' | 'domainController' | 'monosyncServers' | 'policy'
>;

export interface StepRequest {
  fleetId: string;
  server: ServerSpec;
  context: OnboardingContext;
  /** `plan` reads and predicts; `apply` checks, changes only when needed, verifies. */
  mode: 'plan' | 'apply';
  /** The risky change a person approved; applied only if the plan still names exactly this change. */
  approvedChange?: Pick<PlannedChange, 'id' | 'to'>;
}

export type StepStatus = 'compliant' | 'changed' | 'would-change' | 'approval-required' | 'skipped';

export interface StepOutcome {
  step: StepId;
  status: StepStatus;
  changed: boolean;
  before: unknown;
  after: unknown;
  evidence: Record<string, unknown>;
  warnings: string[];
  /** The risky change this step makes (approval-required), or made with approval. */
  change?: PlannedChange;
}

export function contextOf(spec: FleetSpec): OnboardingContext {
  return {
    serviceAccount: spec.serviceAccount,
    domain: spec.domain,
    domainController: spec.domainController,
    monosyncServers: spec.monosyncServers,
    policy: spec.policy,
  };
}

/** Whether the policy asks for this step at all (e.g. `delegation: skip`). */
export function stepApplies(step: StepId, context: OnboardingContext): boolean {
  if (step === 'enableKerberosDelegation') return context.policy.delegation !== 'skip';
  if (step === 'setTrustedHosts') return context.policy.trustedHosts.applyOn !== 'skip';
  return true;
}

export function stepTarget(step: StepId, server: ServerSpec, context: OnboardingContext): ScriptTarget {
  const runsOn = stepDefinition(step).runsOn;
  if (runsOn === 'ad') return { host: 'ad', domainController: context.domainController };
  if (runsOn === 'worker') return { host: 'worker', onBehalfOf: server.fqdn };
  if (runsOn === 'policy' && context.policy.trustedHosts.applyOn === 'monosync') {
    return { host: 'worker', onBehalfOf: server.fqdn };
  }
  return { host: 'exchange', fqdn: server.fqdn };
}

/** The script call that carries out a step for one server. Values are validated again by the runner. */
export function scriptCallFor(
  step: StepId,
  mode: ScriptCall['mode'],
  server: ServerSpec,
  context: OnboardingContext
): ScriptCall {
  const def = stepDefinition(step);
  const target = stepTarget(step, server, context);
  const base = { script: def.script, mode, target };
  const { policy } = context;
  switch (step) {
    case 'preflight':
      return { ...base, params: { Fqdn: server.fqdn, ServiceAccount: context.serviceAccount } };
    case 'grantRemoteManagement':
      return { ...base, params: { Member: context.serviceAccount } };
    case 'enableKerberosDelegation':
      return {
        ...base,
        params: {
          ComputerName: server.computerName,
          TrustedForDelegation: policy.delegation === 'unconstrained',
          ...(context.domainController ? { DomainController: context.domainController } : {}),
        },
      };
    case 'enableRemoting':
      return { ...base, params: {} };
    case 'ensureHttpsListener':
      return {
        ...base,
        params: {
          Fqdn: server.fqdn,
          MinDaysLeft: policy.certificate.renewBeforeDays,
          Issuers: policy.certificate.issuers,
          AllowSelfSigned: policy.certificate.allowSelfSigned,
          ...(policy.certificate.thumbprint ? { Thumbprint: policy.certificate.thumbprint } : {}),
        },
      };
    case 'setCbtHardening':
      return { ...base, params: { Level: policy.cbtHardeningLevel } };
    case 'setTrustedHosts':
      return { ...base, params: { Entries: trustedHostsEntries(context, server) } };
    case 'openFirewall':
      return {
        ...base,
        params: {
          RuleName: 'Monosync-WinRM-In',
          Ports: policy.firewall.ports,
          RemoteAddresses: policy.firewall.sources === 'any' ? ['Any'] : context.monosyncServers,
        },
      };
    case 'verifyConnectivity':
      return {
        ...base,
        params: {
          Fqdn: server.fqdn,
          ServiceAccount: context.serviceAccount,
          CheckSecondHop: policy.delegation === 'unconstrained',
        },
      };
  }
}
