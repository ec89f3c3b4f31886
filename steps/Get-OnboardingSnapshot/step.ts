/**
 * Preflight: reach WinRM and read the whole server state in one call (the plan's starting point).
 * Read-only; finds the servers that must not be onboarded (Edge Transport, domain controllers).
 */
import type { z } from 'zod';
import { lazySchema } from '../../domain/lazy-schema';
import { accountSchema, fqdnSchema } from '../../domain/validators';
import { cbtStateSchema } from '../Set-CbtHardening/step';
import { remotingStateSchema, winrmPolicySchema } from '../Enable-Remoting/step';
import { openFirewallStateSchema } from '../Set-MonosyncFirewallRule/step';
import { listenerStateSchema } from '../Set-HttpsListener/step';
import { remoteManagementStateSchema } from '../Grant-RemoteManagement/step';
import { trustedHostsStateSchema } from '../Set-TrustedHosts/step';
import { defineStep } from '../step-module';

export const snapshotSchema = lazySchema((z) =>
  z.object({
    fqdn: z.string(),
    computerName: z.string(),
    domainJoined: z.boolean(),
    isDomainController: z.boolean(),
    isEdgeTransport: z.boolean(),
    osVersion: z.string(),
    psVersion: z.string(),
    remoteManagement: remoteManagementStateSchema,
    remoting: remotingStateSchema,
    /** Group Policy over WinRM that Enable-Remoting and Set-HttpsListener stop for (PolicyControlled). */
    winrmPolicy: winrmPolicySchema,
    httpsListener: listenerStateSchema,
    cbt: cbtStateSchema,
    trustedHosts: trustedHostsStateSchema,
    firewall: openFirewallStateSchema,
  })
);
export type ServerSnapshot = z.infer<typeof snapshotSchema>;

export const step = defineStep({
  definition: {
    id: 'preflight',
    title: 'Preflight: reach WinRM and read the server state',
    short: 'preflight',
    manual: '-',
    script: 'Get-OnboardingSnapshot',
    runsOn: 'exchange',
    readOnly: true,
    cutsConnection: false,
  },
  state: snapshotSchema,
  params: lazySchema((z) => z.strictObject({ Fqdn: fqdnSchema, ServiceAccount: accountSchema })),
  paramsFor: (server, context) => ({ Fqdn: server.fqdn, ServiceAccount: context.serviceAccount }),
  risk: null,
  hooks: {
    notApplicable(snapshot) {
      if (snapshot.isEdgeTransport)
        return 'an Edge Transport server (not a domain member: no computer object, no Kerberos)';
      if (snapshot.isDomainController) return 'a domain controller (Remote Management Users would change on every DC)';
      if (!snapshot.domainJoined) return 'not a domain member';
      return null;
    },
    // Such a server usually refuses the snapshot's own session: no KDC of the worker's forest knows it.
    notApplicableWhenFailed(failureType) {
      return failureType === 'KerberosUnreachable'
        ? 'an Edge Transport or workgroup server (Kerberos cannot reach it: not a member of a domain the worker trusts)'
        : null;
    },
  },
});
