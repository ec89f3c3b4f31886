/** Manual step 2: TrustedForDelegation on the server's computer object in AD; always behind approval. */
import { z } from 'zod';
import { computerNameSchema, fqdnSchema } from '../../domain/validators';
import { defineStep } from '../step-module';

export const delegationStateSchema = z.object({
  distinguishedName: z.string(),
  trustedForDelegation: z.boolean(),
  trustedToAuthForDelegation: z.boolean(),
  allowedToDelegateTo: z.array(z.string()),
  resourceBasedDelegation: z.boolean(),
});

export const step = defineStep({
  definition: {
    id: 'enableKerberosDelegation',
    title: 'Kerberos delegation on the computer object',
    short: 'delegation',
    manual: '2',
    script: 'Enable-KerberosDelegation',
    runsOn: 'ad',
    readOnly: false,
    cutsConnection: false,
  },
  state: delegationStateSchema,
  params: z.strictObject({
    ComputerName: computerNameSchema,
    DomainController: fqdnSchema.optional(),
    TrustedForDelegation: z.boolean(),
  }),
  paramsFor: (server, context) => ({
    ComputerName: server.computerName,
    TrustedForDelegation: context.policy.delegation === 'unconstrained',
    ...(context.domainController ? { DomainController: context.domainController } : {}),
  }),
  risk: {
    rule: {
      kind: 'unconstrained-delegation',
      title: 'Unconstrained Kerberos delegation (TrustedForDelegation)',
      reason:
        'Every account that authenticates to the server leaves a reusable TGT on it; a compromised Exchange ' +
        'server (or a coerced DC authentication) then yields domain compromise. Microsoft ranks it last.',
      saferAlternative:
        'remove the second hop (connect to the Exchange PowerShell endpoint directly), or use resource-based ' +
        'constrained delegation to the exact hop-2 service (policy.delegation: skip and configure RBCD)',
    },
    assess: (before, after) =>
      after.trustedForDelegation && !before.trustedForDelegation
        ? { label: 'TrustedForDelegation', from: 'False', to: 'True' }
        : null,
  },
  hooks: {
    skippedByPolicy: (context) => context.policy.delegation === 'skip',
  },
});
