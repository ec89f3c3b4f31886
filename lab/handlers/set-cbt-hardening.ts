/** Set-CbtHardening: WSMan:\localhost\Service\Auth\CbtHardeningLevel, unless a GPO owns it. */
import type { ScriptParams } from '../../domain/scripts';
import { STEP_STATE_SCHEMAS, type StepState } from '../../domain/steps';
import type { LabHost } from '../model';
import { fail, paramsOf, runStateStep, subjectFqdn, type Handler, type HandlerContext, type StateStep } from './kit';
import { readCbt } from './readers';

type State = StepState<'setCbtHardening'>;
type Params = ScriptParams<'Set-CbtHardening'>;

const hostOf = (ctx: HandlerContext): LabHost => ctx.host(subjectFqdn(ctx.call) ?? '');

const POLICY_MESSAGE =
  'The config setting CbtHardeningLevel cannot be changed because is controlled by policies. The policy would ' +
  'need to be set to "Not Configured" in order to change the config setting.';

function towards(before: State, level: string) {
  if (before.level === level) return { state: before };
  if (before.policyControlled) return fail('PolicyControlled', POLICY_MESSAGE);
  return { state: { ...before, level } };
}

const step: StateStep<State, Params> = {
  script: 'Set-CbtHardening',
  schema: STEP_STATE_SCHEMAS.setCbtHardening,
  params: (ctx) => paramsOf(ctx, 'Set-CbtHardening'),
  read: (ctx) => readCbt(hostOf(ctx)),
  desire: (_ctx, params, before) => towards(before, params.Level),
  write(ctx, _params, _from, to) {
    hostOf(ctx).cbt.level = to.level;
  },
  restore: (_ctx, _params, current, target) => towards(current, target.level),
};

export const setCbtHardening: Handler = (ctx) => runStateStep(step, ctx);
