/**
 * What one manual step is, in the part workflows may import: data, schemas and rules, no I/O. Each
 * step's folder (`steps/<Script>/`) holds this part in `step.ts`, its PowerShell script, its lab model
 * (`lab.ts`) and its tests; `domain/steps.ts` assembles the catalogue from the `step.ts` files.
 */
import type { z } from 'zod';
import type { ServerSpec } from '../domain/fleet';
import type { OnboardingContext } from '../domain/onboarding';
import type { RiskRule } from '../domain/risk';
import type { JsonValue, ScriptTarget } from '../domain/scripts';

/** Where a step's script runs: on the Exchange server, on the AD management host, or on the worker itself. */
export type StepHost = 'exchange' | 'ad' | 'worker';

export interface StepDefinition<Id extends string = string, Script extends string = string> {
  id: Id;
  title: string;
  /** A word for table columns (`fleet status`). */
  short: string;
  /** Section of the vendor's manual this step carries out. */
  manual: string;
  /** The script's name: also the name of the step's folder and of its `.ps1` file. */
  script: Script;
  runsOn: StepHost;
  readOnly: boolean;
  /** Changing this can drop the WinRM connection the change travels on: reconnect, verify, roll back. */
  cutsConnection: boolean;
}

/** Who and what a risky change is about, for its exact text. */
export interface RiskSubject {
  fqdn: string;
  computerName: string;
  monosyncServers: readonly string[];
}

/** The risky part of a planned change: `label 'from' -> 'to'`. */
export interface RiskyChange {
  label: string;
  from: string;
  to: string;
}

export interface StepRisk<State, Kind extends string = string> {
  rule: RiskRule<Kind>;
  /** The risky change a plan will really make, or null when it weakens nothing. */
  assess(before: State, after: State, subject: RiskSubject): RiskyChange | null;
}

/** A further check over a fresh connection after a change reads back as made; failing it rolls the change back. */
export interface ChangeProbe {
  script: string;
  params: Record<string, JsonValue>;
  target: ScriptTarget;
  /** Whether the probe's reported state passes. */
  passed(after: unknown): boolean;
  /** What failed, for the error and the UI. */
  failure: string;
}

/** What is special about a step, for the generic activity and workflows to ask without naming it. */
export interface StepHooks<State> {
  /** The fleet's policy asks for this step not to run at all (e.g. `delegation: skip`). */
  skippedByPolicy?(context: OnboardingContext): boolean;
  /** Where the script runs when the policy decides it; default: `runsOn`. */
  target?(server: ServerSpec, context: OnboardingContext): ScriptTarget;
  /** After the change reads back as made: one more check over a fresh connection (the TLS handshake). */
  probeAfterChange?(server: ServerSpec, context: OnboardingContext): ChangeProbe;
  /** A read-only step's finding that this server must not be onboarded, e.g. an Edge Transport server. */
  notApplicable?(after: State): string | null;
  /**
   * A failure of this read-only step that says the same without a state to read: the server cannot even be
   * reached the way onboarding reaches members of the domain (e.g. Kerberos cannot find an Edge Transport server).
   */
  notApplicableWhenFailed?(failureType: string): string | null;
  /** Acceptance problems in a read-only check's result (the server still ends as needs-attention). */
  acceptanceProblems?(after: State, context: OnboardingContext): string[];
  /** Compliant for onboarding, yet not what the policy asks for: an audit finding. */
  drift?(before: State, server: ServerSpec, context: OnboardingContext): string | null;
}

export interface StepModule<
  Id extends string = string,
  Script extends string = string,
  State extends z.ZodType = z.ZodType,
  Params extends z.ZodType = z.ZodType,
  Kind extends string = string,
> {
  definition: StepDefinition<Id, Script>;
  /** What the script reports as `before` and `after`. */
  state: State;
  /** The script's parameters, validated again right before anything reaches PowerShell. */
  params: Params;
  /** The parameters the step's script is called with for one server. */
  paramsFor(server: ServerSpec, context: OnboardingContext): z.input<Params>;
  /** The change that needs a second person's approval, or null: every step says which. */
  risk: StepRisk<z.infer<State>, Kind> | null;
  hooks: StepHooks<z.infer<State>>;
}

/** Keeps the literal types of a step module (id, script, state and risk kind) while checking its shape. */
export function defineStep<
  const Id extends string,
  const Script extends string,
  State extends z.ZodType,
  Params extends z.ZodType,
  const Kind extends string = never,
>(module: StepModule<Id, Script, State, Params, Kind>): StepModule<Id, Script, State, Params, Kind> {
  return module;
}
