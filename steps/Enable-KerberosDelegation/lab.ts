/**
 * Enable-KerberosDelegation: runs on the AD host and resolves the computer by sAMAccountName (never a
 * guessed DN: Exchange servers rarely live in CN=Computers). Reports every delegation attribute so a
 * reviewer sees constrained or resource-based delegation already in place.
 */
import type { z } from 'zod';
import { fail, runStateStep, type Handler, type HandlerContext, type StateStep } from '../../lab/state-step';
import { step } from './step';

type State = z.infer<typeof step.state>;
type Params = z.output<typeof step.params>;

function notFound(ctx: HandlerContext, params: Params) {
  const domainDn = ctx.settings.domain
    .split('.')
    .map((l) => `DC=${l}`)
    .join(',');
  return fail(
    'ADIdentityNotFound',
    `Cannot find an object with identity: '${params.ComputerName}$' under: '${domainDn}'.`,
    { exceptionType: 'Microsoft.ActiveDirectory.Management.ADIdentityNotFoundException' }
  );
}

function evidence(ctx: HandlerContext, params: Params) {
  const computer = ctx.computer(params.ComputerName);
  return {
    samAccountName: computer?.samAccountName,
    objectGuid: computer?.objectGuid,
    domainController: params.DomainController ?? ctx.settings.domainController,
  };
}

/** What the script refuses in any string of a request or a saved state (powershell/MonosyncCommon.ps1). */
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001F\u007F\u0085\u2028\u2029]/;

const model: StateStep<State, Params> = {
  module: step,
  read(ctx, params) {
    const computer = ctx.computer(params.ComputerName);
    if (!computer) return notFound(ctx, params);
    return {
      distinguishedName: computer.distinguishedName,
      trustedForDelegation: computer.trustedForDelegation,
      trustedToAuthForDelegation: computer.trustedToAuthForDelegation,
      allowedToDelegateTo: [...computer.allowedToDelegateTo],
      resourceBasedDelegation: computer.resourceBasedDelegation,
    };
  },
  desire: (ctx, params, before) => ({
    state: { ...before, trustedForDelegation: params.TrustedForDelegation },
    evidence: evidence(ctx, params),
  }),
  write(ctx, params, _from, to) {
    const computer = ctx.computer(params.ComputerName);
    if (computer) computer.trustedForDelegation = to.trustedForDelegation;
  },
  // Only the flag this step sets is undone; other delegation settings belong to someone else. The saved
  // state must be this object's (its DN, compared as AD does, ignoring case) and hold no control characters:
  // anything else is not what an earlier plan of this step reported, and is refused, never guessed.
  restore(ctx, params, current, target) {
    if ([target.distinguishedName, ...target.allowedToDelegateTo].some((v) => CONTROL.test(v))) {
      return fail(
        'InvalidInput',
        `${step.definition.script} -Mode rollback: the saved state holds a control character`
      );
    }
    if (target.distinguishedName.toLowerCase() !== current.distinguishedName.toLowerCase()) {
      return fail(
        'InvalidInput',
        `${step.definition.script} -Mode rollback: the saved state is of ${target.distinguishedName}, not of ${current.distinguishedName}`
      );
    }
    return {
      state: { ...current, trustedForDelegation: target.trustedForDelegation },
      evidence: evidence(ctx, params),
    };
  },
};

export const enableKerberosDelegationLab: Handler = (ctx) => runStateStep(model, ctx);
