/**
 * Risk: which planned changes weaken security and need a second person's approval, with the exact
 * change text, why it is risky and what is safer. Each step states its own rule (or none) in its
 * module; this file holds what is common to all of them.
 */
import { RISK_KINDS, STEP_IDS, STEP_MODULES, type RiskKind, type StepId } from './steps';

export interface RiskRule<Kind extends string = string> {
  kind: Kind;
  title: string;
  reason: string;
  saferAlternative: string;
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

/** The parts of a change id (`<fqdn>/<step>/<kind>`, see `changeId`), or null when it is not one. */
export function parseChangeId(id: string): { fqdn: string; step: StepId; kind: RiskKind } | null {
  const parts = id.split('/');
  if (parts.length !== 3) return null;
  const [fqdn, step, kind] = parts;
  if (!fqdn || !(STEP_IDS as readonly string[]).includes(step) || !(RISK_KINDS as readonly string[]).includes(kind)) {
    return null;
  }
  return { fqdn, step: step as StepId, kind: kind as RiskKind };
}

interface RiskContext {
  fqdn: string;
  computerName: string;
  monosyncServers: readonly string[];
}

interface PlannedState {
  step: StepId;
  before: unknown;
  after: unknown;
}

/**
 * The risky change a step's plan will make, or null. Only a plan that really changes something can
 * be risky: re-running an approved change that is already in place asks nobody.
 */
export function assessRisk(ctx: RiskContext, plan: PlannedState): PlannedChange | null {
  const risk = STEP_MODULES[plan.step].risk;
  if (risk === null) return null;
  const found = risk.assess(plan.before, plan.after, ctx);
  if (!found) return null;
  const kind = risk.rule.kind as RiskKind;
  return {
    id: changeId(ctx.fqdn, plan.step, kind),
    fqdn: ctx.fqdn,
    step: plan.step,
    kind,
    text: `${ctx.computerName}: ${found.label} '${found.from}' -> '${found.to}'`,
    from: found.from,
    to: found.to,
    reason: risk.rule.reason,
    saferAlternative: risk.rule.saferAlternative,
  };
}
