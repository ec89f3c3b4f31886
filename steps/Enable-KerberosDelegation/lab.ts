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
  desire(ctx, params, before) {
    const computer = ctx.computer(params.ComputerName);
    return {
      state: { ...before, trustedForDelegation: params.TrustedForDelegation },
      evidence: {
        samAccountName: computer?.samAccountName,
        objectGuid: computer?.objectGuid,
        domainController: params.DomainController ?? ctx.settings.domainController,
      },
    };
  },
  write(ctx, params, _from, to) {
    const computer = ctx.computer(params.ComputerName);
    if (computer) computer.trustedForDelegation = to.trustedForDelegation;
  },
  // Only the flag this step sets is undone; other delegation settings belong to someone else.
  restore: (_ctx, _params, current, target) => ({
    state: { ...current, trustedForDelegation: target.trustedForDelegation },
  }),
};

export const enableKerberosDelegationLab: Handler = (ctx) => runStateStep(model, ctx);
