/**
 * What every step's lab model (`steps/<Script>/lab.ts`) shares: the view of the estate a handler
 * gets, its result, and the plan → apply → rollback machinery for steps whose state can be read,
 * predicted and written. Plan never calls `write`, and apply reports the state read back after
 * `write`, so a plan's prediction and the apply's result can only agree if the write is faithful
 * (the tests hold it to that).
 */
import { isDeepStrictEqual } from 'node:util';
import type { z } from 'zod';
import type { ScriptError } from '../domain/envelope';
import { classifyCode } from '../domain/failures';
import type { ScriptCall } from '../domain/scripts';
import type { LabComputerObject, LabDirectory, LabHost, LabSettings, LabWorker } from './model';

export interface HandlerContext {
  call: ScriptCall;
  /** FQDN of the server the call is about (`LabEstate.subjectOf`): its target, or the AD computer's host. */
  subject: string;
  now: Date;
  settings: LabSettings;
  worker: LabWorker;
  /** Active Directory as the AD management host reaches it (users, domain controllers, replication). */
  directory: LabDirectory;
  host(fqdn: string): LabHost;
  computer(computerName: string): LabComputerObject | undefined;
  /** Whether a `tls-verify-fails` fault hits this server's TLS handshake now (counts the hit). */
  tlsVerifyFails(fqdn: string): boolean;
}

export interface HandlerResult {
  ok: boolean;
  compliant: boolean;
  changed: boolean;
  before: unknown;
  after: unknown;
  evidence: Record<string, unknown>;
  warnings: string[];
  error?: ScriptError;
}

export type Handler = (ctx: HandlerContext) => HandlerResult;

export interface Fail {
  error: ScriptError;
}

export function isFail(value: unknown): value is Fail {
  return typeof value === 'object' && value !== null && 'error' in value;
}

/** The advisory class a real script would print for a code, taken from the failure table. */
export function errorClass(code: string): ScriptError['class'] {
  const kind = classifyCode(code);
  if (kind.type === 'PolicyControlled') return 'policy';
  if (kind.retry === 'auth') return 'auth';
  if (kind.retry === 'transient') return 'transient';
  return 'permanent';
}

export function fail(code: string, message: string, extra: Partial<ScriptError> = {}): Fail {
  return { error: { class: errorClass(code), code, message, ...extra } };
}

export function failed(
  error: ScriptError,
  before: unknown = null,
  evidence: Record<string, unknown> = {}
): HandlerResult {
  return { ok: false, compliant: false, changed: false, before, after: before, evidence, warnings: [], error };
}

/** The parts of a step module (`steps/<Script>/step.ts`) its lab model works from. */
export interface ModelledStep<S, P> {
  definition: { script: string };
  state: z.ZodType<S>;
  params: z.ZodType<P>;
}

/** Parameters as the script's `param()` block would bind them; the lab re-validates like the script does. */
export function paramsOf<P>(
  ctx: HandlerContext,
  step: Pick<ModelledStep<unknown, P>, 'definition' | 'params'>
): P | Fail {
  const parsed = step.params.safeParse(ctx.call.params);
  if (!parsed.success) return fail('InvalidInput', `${step.definition.script}: ${parsed.error.message}`);
  return parsed.data;
}

export interface Desired<S> {
  state: S;
  /** Defaults to "nothing would change". */
  compliant?: boolean;
  evidence?: Record<string, unknown>;
  warnings?: string[];
}

export interface StateStep<S, P> {
  /** The step module this models: its script name and its state and parameter schemas. */
  module: ModelledStep<S, P>;
  read(ctx: HandlerContext, params: P): S | Fail;
  desire(ctx: HandlerContext, params: P, before: S): Desired<S> | Fail;
  write(ctx: HandlerContext, params: P, from: S, to: S): void;
  /** What rollback writes; defaults to `rollbackTo` itself. Steps that must not undo everything narrow it. */
  restore?(ctx: HandlerContext, params: P, current: S, target: S): Desired<S> | Fail;
}

export function runStateStep<S, P>(step: StateStep<S, P>, ctx: HandlerContext): HandlerResult {
  const params = paramsOf(ctx, step.module);
  if (isFail(params)) return failed(params.error);
  const before = step.read(ctx, params);
  if (isFail(before)) return failed(before.error);

  let desired: Desired<S> | Fail;
  if (ctx.call.mode === 'rollback') {
    const target = step.module.state.safeParse(ctx.call.rollbackTo);
    if (!target.success) {
      return failed(
        fail('InvalidInput', `${step.module.definition.script} -Mode rollback needs the step's earlier state`).error,
        before
      );
    }
    desired = step.restore ? step.restore(ctx, params, before, target.data) : { state: target.data };
  } else {
    desired = step.desire(ctx, params, before);
  }
  if (isFail(desired)) return failed(desired.error, before);

  const changed = !isDeepStrictEqual(before, desired.state);
  const compliant = desired.compliant ?? !changed;
  const evidence = desired.evidence ?? {};
  const warnings = desired.warnings ?? [];
  if (ctx.call.mode === 'plan' || !changed) {
    return { ok: true, compliant, changed, before, after: desired.state, evidence, warnings };
  }
  step.write(ctx, params, before, desired.state);
  const after = step.read(ctx, params);
  if (isFail(after)) return failed(after.error, before);
  return { ok: true, compliant, changed, before, after, evidence, warnings };
}
