/**
 * Acceptance: WinRM over HTTPS answers from the Monosync side, and the Kerberos second hop works when
 * the policy asks for delegation. Read-only; its findings leave the server needs-attention.
 */
import { z } from 'zod';
import type { ServerSpec } from '../../domain/fleet';
import type { OnboardingContext } from '../../domain/onboarding';
import { accountSchema, fqdnSchema } from '../../domain/validators';
import { defineStep } from '../step-module';

export const connectivityStateSchema = z.object({
  wsmanHttps: z.boolean(),
  kerberosSecondHop: z.boolean(),
  servedThumbprint: z.string().nullable(),
});

const paramsSchema = z.strictObject({
  Fqdn: fqdnSchema,
  ServiceAccount: accountSchema,
  CheckSecondHop: z.boolean(),
});

function connectivityParams(server: ServerSpec, context: OnboardingContext): z.input<typeof paramsSchema> {
  return {
    Fqdn: server.fqdn,
    ServiceAccount: context.serviceAccount,
    CheckSecondHop: context.policy.delegation === 'unconstrained',
  };
}

export const step = defineStep({
  definition: {
    id: 'verifyConnectivity',
    title: 'Acceptance: WinRM over HTTPS and the Kerberos second hop',
    short: 'verify',
    manual: 'acceptance',
    script: 'Test-MonosyncConnectivity',
    runsOn: 'worker',
    readOnly: true,
    cutsConnection: false,
  },
  state: connectivityStateSchema,
  params: paramsSchema,
  paramsFor: connectivityParams,
  risk: null,
  hooks: {
    acceptanceProblems(after, context) {
      const problems: string[] = [];
      if (!after.wsmanHttps) problems.push('acceptance: WinRM over HTTPS did not answer from the Monosync side');
      if (context.policy.delegation === 'unconstrained' && !after.kerberosSecondHop) {
        problems.push('acceptance: the Kerberos second hop is not available');
      }
      return problems;
    },
  },
});

/** A fresh TLS handshake with the server's HTTPS listener, from the Monosync side (no second hop). */
export function tlsHandshakeProbe(server: ServerSpec, context: OnboardingContext) {
  return {
    script: step.definition.script,
    params: { ...connectivityParams(server, context), CheckSecondHop: false },
    target: { host: 'worker' as const, onBehalfOf: server.fqdn },
    passed: (after: unknown) => connectivityStateSchema.safeParse(after).data?.wsmanHttps === true,
    failure: 'a fresh TLS connection to 5986 failed',
  };
}
