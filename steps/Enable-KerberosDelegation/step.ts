/**
 * Manual step 2: TrustedForDelegation on the server's computer object in AD; always behind approval. It runs
 * in the AD worker's own PowerShell with the ActiveDirectory module, every cmdlet pinned with -Server to one
 * DC (the fleet's domainController, else the one the AD worker's locator found first: pin-domain-controller.ts),
 * never in a session on a DC or on the Exchange server (powershell/command.ts remoteComputer).
 */
import { lazySchema } from '../../domain/lazy-schema';
import { accountSchema, computerNameSchema, fqdnSchema } from '../../domain/validators';
import { defineStep } from '../step-module';

export const delegationStateSchema = lazySchema((z) =>
  z.object({
    distinguishedName: z.string(),
    trustedForDelegation: z.boolean(),
    trustedToAuthForDelegation: z.boolean(),
    allowedToDelegateTo: z.array(z.string()),
    resourceBasedDelegation: z.boolean(),
  })
);

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
  params: lazySchema((z) =>
    z.strictObject({
      ComputerName: computerNameSchema,
      /** The DNSHostName the object found by sAMAccountName must carry, else it is another server's. */
      Fqdn: fqdnSchema,
      /** Monosync's account: delegation is refused when it is in Protected Users or marked sensitive. */
      ServiceAccount: accountSchema,
      DomainController: fqdnSchema.optional(),
      TrustedForDelegation: z.boolean(),
    })
  ),
  paramsFor: (server, context) => ({
    ComputerName: server.computerName,
    Fqdn: server.fqdn,
    ServiceAccount: context.serviceAccount,
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
