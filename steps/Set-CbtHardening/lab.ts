/** Set-CbtHardening: WSMan:\localhost\Service\Auth\CbtHardeningLevel, unless a GPO owns it. */
import type { z } from 'zod';
import { CBT_LEVELS } from '../../domain/fleet';
import type { LabHost } from '../../lab/model';
import { fail, runStateStep, type Handler, type HandlerContext, type StateStep } from '../../lab/state-step';
import { step } from './step';

type State = z.infer<typeof step.state>;
type Params = z.output<typeof step.params>;

const hostOf = (ctx: HandlerContext): LabHost => ctx.host(ctx.subject);

export function readCbt(host: LabHost): State {
  return { level: host.cbt.level, policyControlled: host.cbt.policyControlled };
}

/** The script's message: which policy owns the level, and the fix. */
const policyMessage = (level: string, want: string) =>
  `CbtHardeningLevel is set to '${level}' by the Group Policy 'Windows Remote Management (WinRM) > WinRM Service > ` +
  `Specify channel binding token hardening level' (HKEY_LOCAL_MACHINE\\SOFTWARE\\Policies\\Microsoft\\Windows\\WinRM\\Service): ` +
  `a local change would be reverted at the next refresh. Set that policy to ${want}, or to Not Configured, then retry`;

function towards(before: State, level: string) {
  if (before.level === level) return { state: before };
  if (before.policyControlled) return fail('PolicyControlled', policyMessage(before.level, level), { class: 'policy' });
  return { state: { ...before, level } };
}

const model: StateStep<State, Params> = {
  module: step,
  read: (ctx) => readCbt(hostOf(ctx)),
  desire: (_ctx, params, before) => towards(before, params.Level),
  write(ctx, _params, _from, to) {
    hostOf(ctx).cbt.level = to.level;
  },
  // WinRM takes only its three levels (in any spelling): a saved level it would refuse (none at all, or
  // an unknown one) cannot be written back, so rollback refuses it as the script does.
  restore(_ctx, _params, current, target) {
    if (!CBT_LEVELS.some((l) => l.toLowerCase() === target.level.toLowerCase())) {
      return fail(
        'InvalidInput',
        `${step.definition.script} -Mode rollback: '${target.level}' is not a level WinRM accepts`
      );
    }
    return towards(current, target.level);
  },
};

export const setCbtHardeningLab: Handler = (ctx) => runStateStep(model, ctx);
