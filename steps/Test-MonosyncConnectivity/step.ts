/**
 * Acceptance: WinRM over HTTPS answers from the Monosync side, Monosync's service account may open a
 * session (what Remote Management Users grants), and the Kerberos second hop works when the policy asks
 * for delegation. Read-only; its findings leave the server needs-attention.
 *
 * It must act AS the service account, not as the worker (an administrator, or a gMSA): membership is only
 * proven by a session that account opens. The worker holds the account's credential in its own
 * environment (FLEET_SERVICE_ACCOUNT_*, powershell/credentials.ts), never in workflow inputs or history;
 * without it (and not running as that account) the acceptance says that membership was not proven.
 */
import type { z } from 'zod';
import { lazySchema } from '../../domain/lazy-schema';
import type { ServerSpec } from '../../domain/fleet';
import type { OnboardingContext } from '../../domain/onboarding';
import { accountSchema, fqdnSchema } from '../../domain/validators';
import { defineStep } from '../step-module';

export const connectivityStateSchema = lazySchema((z) =>
  z.object({
    wsmanHttps: z.boolean(),
    kerberosSecondHop: z.boolean(),
    servedThumbprint: z.string().nullable(),
    /**
     * A session opened as the service account on the Microsoft.PowerShell endpoint: true, false (refused),
     * or null when not tried (WinRM over HTTPS failed, or the worker can act only as itself).
     */
    sessionAsServiceAccount: z.boolean().nullable(),
  })
);

/** Where the worker finds the service account's credential; the acceptance names them when it is missing. */
export const SERVICE_ACCOUNT_CREDENTIAL_HINT =
  'set FLEET_SERVICE_ACCOUNT_USER and FLEET_SERVICE_ACCOUNT_PASSWORD_FILE on the worker, or run the worker as that account';

const paramsSchema = lazySchema((z) =>
  z.strictObject({
    Fqdn: fqdnSchema,
    ServiceAccount: accountSchema,
    /** The AD domain whose SYSVOL the second-hop probe reads; passed in ($env:USERDNSDOMAIN is empty in a network logon). */
    Domain: fqdnSchema,
    CheckSecondHop: z.boolean(),
  })
);

/** The fleet's domain, else the server's own DNS suffix. */
function domainOf(server: ServerSpec, context: OnboardingContext): string {
  return context.domain ?? server.fqdn.slice(server.fqdn.indexOf('.') + 1);
}

function connectivityParams(server: ServerSpec, context: OnboardingContext): z.input<typeof paramsSchema> {
  return {
    Fqdn: server.fqdn,
    ServiceAccount: context.serviceAccount,
    Domain: domainOf(server, context),
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
      if (after.wsmanHttps && after.sessionAsServiceAccount === false) {
        problems.push(
          `acceptance: ${context.serviceAccount} cannot open a session on the server (not in Remote Management Users, or the endpoint refuses it)`
        );
      }
      if (after.wsmanHttps && after.sessionAsServiceAccount === null) {
        problems.push(
          `acceptance: membership of ${context.serviceAccount} in Remote Management Users was not proven: the worker cannot act as that account; ${SERVICE_ACCOUNT_CREDENTIAL_HINT}`
        );
      }
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
