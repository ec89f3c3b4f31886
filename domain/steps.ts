/**
 * The step catalogue: the one registry of the vendor's manual steps, in the order they run. Everything
 * else about steps is derived from it: ids, script names, state and parameter schemas, risk rules,
 * the activities, the lab models (`lab/step-models.ts`, checked against these ids) and the CLI.
 * Adding a step: a folder under `steps/` and one line here (plus its lab model's line).
 */
import type { z } from 'zod';
import { step as enableKerberosDelegation } from '../steps/Enable-KerberosDelegation/step';
import { step as enableRemoting } from '../steps/Enable-Remoting/step';
import { step as preflight } from '../steps/Get-OnboardingSnapshot/step';
import { step as grantRemoteManagement } from '../steps/Grant-RemoteManagement/step';
import { step as setCbtHardening } from '../steps/Set-CbtHardening/step';
import { step as ensureHttpsListener } from '../steps/Set-HttpsListener/step';
import { step as openFirewall } from '../steps/Set-MonosyncFirewallRule/step';
import { step as setTrustedHosts } from '../steps/Set-TrustedHosts/step';
import { step as verifyConnectivity } from '../steps/Test-MonosyncConnectivity/step';
import type { StepDefinition, StepModule } from '../steps/step-module';

const REGISTRY = {
  preflight,
  grantRemoteManagement,
  enableKerberosDelegation,
  enableRemoting,
  // Before the listener: Windows has no built-in rule for 5986, and the listener change is verified
  // over a fresh TLS connection from the Monosync side, which the firewall must already admit.
  openFirewall,
  ensureHttpsListener,
  setCbtHardening,
  setTrustedHosts,
  verifyConnectivity,
} as const;

export type StepId = keyof typeof REGISTRY;
type ModuleOf<S extends StepId> = (typeof REGISTRY)[S];
export type ScriptName = ModuleOf<StepId>['definition']['script'];
export type StepState<S extends StepId> = z.infer<ModuleOf<S>['state']>;
type ModuleOfScript<S extends ScriptName> = {
  [K in StepId]: ModuleOf<K>['definition']['script'] extends S ? ModuleOf<K> : never;
}[StepId];
export type ScriptParams<S extends ScriptName> = z.output<ModuleOfScript<S>['params']>;
export type RiskKind = NonNullable<ModuleOf<StepId>['risk']>['rule']['kind'];

/** Every step module by id; the type makes a module's key its own id. */
export const STEP_MODULES: { readonly [S in StepId]: StepModule<S, ModuleOf<S>['definition']['script']> } = REGISTRY;

export const STEP_IDS = Object.keys(REGISTRY) as StepId[];
export const STEPS: readonly StepDefinition<StepId, ScriptName>[] = STEP_IDS.map(
  (id) => REGISTRY[id].definition as StepDefinition<StepId, ScriptName>
);
export const SCRIPT_NAMES = STEPS.map((s) => s.script);
/** Steps that change state, in the order the manual gives them. */
export const CHANGE_STEPS = STEPS.filter((s) => !s.readOnly).map((s) => s.id);

/**
 * Steps whose script changes the server's computer object at a domain controller, not the server: none of
 * the server's own steps reads or needs what they change, and only a later read-only check (the connection
 * test) reads it back. A server started by a current fleet (ServerRunInput.fleetProtocol 3) starts them
 * right after the read-only step before them (the snapshot) and takes their results just before the next
 * read-only step, so the domain controllers' queue and the server's WinRM steps overlap.
 */
const BESIDE_HOST_STEPS: readonly StepId[] = STEPS.filter((s) => s.runsOn === 'ad' && !s.readOnly).map((s) => s.id);

/**
 * The order a server takes its steps' results in when BESIDE_HOST_STEPS run early (each moved to just before
 * the next read-only step), and the step after whose result each is started (null: at the start).
 */
export const OVERLAPPED_PLAN: { order: readonly StepId[]; startAfter: ReadonlyMap<StepId, StepId | null> } = (() => {
  const order: StepId[] = [];
  const startAfter = new Map<StepId, StepId | null>();
  let held: StepId[] = [];
  let lastReadOnly: StepId | null = null;
  for (const def of STEPS) {
    if (BESIDE_HOST_STEPS.includes(def.id)) {
      held.push(def.id);
      startAfter.set(def.id, lastReadOnly);
      continue;
    }
    if (def.readOnly) {
      order.push(...held);
      held = [];
      lastReadOnly = def.id;
    }
    order.push(def.id);
  }
  order.push(...held);
  return { order, startAfter };
})();

export const STEP_STATE_SCHEMAS = Object.fromEntries(STEP_IDS.map((id) => [id, REGISTRY[id].state])) as {
  readonly [S in StepId]: ModuleOf<S>['state'];
};

export const SCRIPT_PARAM_SCHEMAS = Object.fromEntries(
  STEP_IDS.map((id) => [REGISTRY[id].definition.script, REGISTRY[id].params])
) as { readonly [S in ScriptName]: ModuleOfScript<S>['params'] };

export const RISK_KINDS = STEP_IDS.flatMap((id) => {
  const risk = STEP_MODULES[id].risk;
  return risk ? [risk.rule.kind as RiskKind] : [];
});

export function stepDefinition(id: StepId): StepDefinition<StepId, ScriptName> {
  const def = STEPS.find((s) => s.id === id);
  if (!def) throw new Error(`unknown step ${String(id)}`);
  return def;
}

export function isScriptName(value: string): value is ScriptName {
  return (SCRIPT_NAMES as readonly string[]).includes(value);
}
