/**
 * Risk rules: which planned changes weaken security and need a second person's approval, with the
 * exact change text, why it is risky and what is safer. The single place these facts live.
 */
import type { StepId, StepState } from './steps';

export const RISK_KINDS = [
  'trusted-hosts-wildcard',
  'cbt-none',
  'unconstrained-delegation',
  'self-signed-certificate',
  'firewall-wider-than-monosync',
] as const;
export type RiskKind = (typeof RISK_KINDS)[number];

export interface RiskRule {
  kind: RiskKind;
  step: StepId;
  title: string;
  reason: string;
  saferAlternative: string;
}

export const RISK_RULES: readonly RiskRule[] = [
  {
    kind: 'trusted-hosts-wildcard',
    step: 'setTrustedHosts',
    title: 'TrustedHosts with a wildcard',
    reason:
      'TrustedHosts turns off server identity checks for NTLM connections this machine opens, for every user ' +
      'on it; a wildcard does so for every host (or every host in the domain). On an Exchange server it does ' +
      'nothing for inbound Monosync connections.',
    saferAlternative:
      'connect by FQDN with Kerberos (no TrustedHosts needed), or list the exact hosts on the Monosync side ' +
      '(policy.trustedHosts: { applyOn: monosync, value: this-server })',
  },
  {
    kind: 'cbt-none',
    step: 'setCbtHardening',
    title: 'CbtHardeningLevel None',
    reason:
      'None accepts a wrong channel-binding token, which removes NTLM relay protection on the HTTPS listener. ' +
      'The default Relaxed already accepts clients that send no token.',
    saferAlternative: 'keep Relaxed (policy.cbtHardeningLevel: Relaxed), or Strict when the client sends CBT',
  },
  {
    kind: 'unconstrained-delegation',
    step: 'enableKerberosDelegation',
    title: 'Unconstrained Kerberos delegation (TrustedForDelegation)',
    reason:
      'Every account that authenticates to the server leaves a reusable TGT on it; a compromised Exchange ' +
      'server (or a coerced DC authentication) then yields domain compromise. Microsoft ranks it last.',
    saferAlternative:
      'remove the second hop (connect to the Exchange PowerShell endpoint directly), or use resource-based ' +
      'constrained delegation to the exact hop-2 service (policy.delegation: skip and configure RBCD)',
  },
  {
    kind: 'self-signed-certificate',
    step: 'ensureHttpsListener',
    title: 'Self-signed listener certificate',
    reason:
      'Clients cannot validate a self-signed certificate unless its root is trusted machine-wide, and it ' +
      'expires after one year with no renewal, silently cutting Monosync off.',
    saferAlternative: 'enrol a CA-issued machine certificate (AD CS autoenrolment) with the FQDN in its SAN',
  },
  {
    kind: 'firewall-wider-than-monosync',
    step: 'openFirewall',
    title: 'Firewall rule wider than the Monosync servers',
    reason: 'WinRM would accept connections from any address instead of only the Monosync servers.',
    saferAlternative: 'scope the rule to the listed Monosync addresses (policy.firewall.sources: monosync)',
  },
];

export function riskRule(kind: RiskKind): RiskRule {
  const rule = RISK_RULES.find((r) => r.kind === kind);
  if (!rule) throw new Error(`unknown risk kind ${kind}`);
  return rule;
}

/** A change that will really happen on one server, named exactly. */
export interface PlannedChange {
  /** Deterministic: `<fqdn>/<step>/<kind>`; the id an approval refers to. */
  id: string;
  fqdn: string;
  step: StepId;
  kind: RiskKind;
  /** e.g. `EXCH01: TrustedHosts '' -> '*'`. */
  text: string;
  from: string;
  to: string;
  reason: string;
  saferAlternative: string;
}

export function changeId(fqdn: string, step: StepId, kind: RiskKind): string {
  return `${fqdn}/${step}/${kind}`;
}

interface RiskContext {
  fqdn: string;
  computerName: string;
  monosyncServers: readonly string[];
}

type Planned<S extends StepId> = {
  step: S;
  before: StepState<S>;
  after: StepState<S>;
  evidence?: Record<string, unknown>;
};

/**
 * The risky change a step's plan will make, or null. Only a plan that really changes something can
 * be risky: re-running an approved change that is already in place asks nobody.
 */
export function assessRisk(ctx: RiskContext, plan: Planned<StepId>): PlannedChange | null {
  const make = (kind: RiskKind, label: string, from: string, to: string): PlannedChange => {
    const rule = riskRule(kind);
    return {
      id: changeId(ctx.fqdn, plan.step, kind),
      fqdn: ctx.fqdn,
      step: plan.step,
      kind,
      text: `${ctx.computerName}: ${label} '${from}' -> '${to}'`,
      from,
      to,
      reason: rule.reason,
      saferAlternative: rule.saferAlternative,
    };
  };
  switch (plan.step) {
    case 'setTrustedHosts': {
      const { before, after } = plan as Planned<'setTrustedHosts'>;
      const added = entries(after.value).filter((e) => !entries(before.value).includes(e));
      return added.some((e) => e.includes('*'))
        ? make('trusted-hosts-wildcard', 'TrustedHosts', before.value, after.value)
        : null;
    }
    case 'setCbtHardening': {
      const { before, after } = plan as Planned<'setCbtHardening'>;
      return after.level === 'None' && before.level !== 'None'
        ? make('cbt-none', 'CbtHardeningLevel', before.level, after.level)
        : null;
    }
    case 'enableKerberosDelegation': {
      const { before, after } = plan as Planned<'enableKerberosDelegation'>;
      return after.trustedForDelegation && !before.trustedForDelegation
        ? make('unconstrained-delegation', 'TrustedForDelegation', 'False', 'True')
        : null;
    }
    case 'ensureHttpsListener': {
      const { before, after } = plan as Planned<'ensureHttpsListener'>;
      const next = after.certificate;
      const changed = before.listener?.thumbprint !== after.listener?.thumbprint;
      // No certificate in the plan means apply must issue one: on Windows that is New-SelfSignedCertificate,
      // whose thumbprint cannot be known before it exists.
      const issuesNew = !next || !next.thumbprint;
      if (!changed || !(issuesNew || next.selfSigned)) return null;
      return make(
        'self-signed-certificate',
        'HTTPS listener certificate',
        before.listener?.thumbprint || 'none',
        issuesNew ? 'self-signed (new, issued at apply)' : `self-signed ${next.thumbprint}`
      );
    }
    case 'openFirewall': {
      const { before, after } = plan as Planned<'openFirewall'>;
      const wider = (after.rule?.remoteAddresses ?? []).filter(
        (a) => a.toLowerCase() === 'any' || !ctx.monosyncServers.includes(a)
      );
      const was = before.rule?.remoteAddresses.join(',') ?? 'none';
      const now = after.rule?.remoteAddresses.join(',') ?? 'none';
      return wider.length > 0 && was !== now
        ? make('firewall-wider-than-monosync', 'firewall remote addresses', was, now)
        : null;
    }
    default:
      return null;
  }
}

/** TrustedHosts as a normalised list of entries. */
export function entries(value: string): string[] {
  return value
    .split(',')
    .map((e) => e.trim().toLowerCase())
    .filter((e) => e !== '');
}

/**
 * A TrustedHosts wildcard nobody asked for: onboarding accepts it (it already covers the required
 * entries), but the drift audit reports it, since it is the riskier value set by hand.
 */
export function unrequestedWildcard(value: string, requested: string[]): string | null {
  const extra = entries(value).filter((e) => e.includes('*') && !requested.map((r) => r.toLowerCase()).includes(e));
  return extra.length > 0
    ? `TrustedHosts holds ${extra.map((e) => `'${e}'`).join(', ')}, which the policy does not ask for`
    : null;
}
