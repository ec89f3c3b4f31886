/**
 * Manual step 3.5: WSMan TrustedHosts, on the Exchange server (as the manual says) or on the Monosync
 * side (where it matters); skipped unless the fleet file asks (domain/fleet.ts says why). Only this
 * step's own entries are added and rolled back, under a per-machine lock. A wildcard waits for a second
 * person.
 */
import { lazySchema } from '../../domain/lazy-schema';
import { trustedHostsEntries } from '../../domain/fleet';
import { trustedHostEntrySchema } from '../../domain/validators';
import { defineStep } from '../step-module';

export const trustedHostsStateSchema = lazySchema((z) =>
  z.object({ value: z.string(), policyControlled: z.boolean() })
);

/** TrustedHosts as a normalised list of entries. */
export function trustedHostsList(value: string): string[] {
  return value
    .split(',')
    .map((e) => e.trim().toLowerCase())
    .filter((e) => e !== '');
}

/**
 * A TrustedHosts wildcard nobody asked for: onboarding accepts it (it already covers the required
 * entries), but the drift audit reports it, since it is the riskier value set by hand.
 */
export function unrequestedWildcard(value: string, requested: string[]): string | null {
  const wanted = requested.map((r) => r.toLowerCase());
  const extra = trustedHostsList(value).filter((e) => e.includes('*') && !wanted.includes(e));
  return extra.length > 0
    ? `TrustedHosts holds ${extra.map((e) => `'${e}'`).join(', ')}, which the policy does not ask for`
    : null;
}

export const step = defineStep({
  definition: {
    id: 'setTrustedHosts',
    title: 'WSMan TrustedHosts',
    short: 'trusted',
    manual: '3.5',
    script: 'Set-TrustedHosts',
    runsOn: 'exchange',
    readOnly: false,
    cutsConnection: false,
  },
  state: trustedHostsStateSchema,
  params: lazySchema((z) => z.strictObject({ Entries: z.array(trustedHostEntrySchema).min(1) })),
  paramsFor: (server, context) => ({ Entries: trustedHostsEntries(context, server) }),
  risk: {
    rule: {
      kind: 'trusted-hosts-wildcard',
      title: 'TrustedHosts with a wildcard',
      reason:
        'TrustedHosts turns off server identity checks for NTLM connections this machine opens, for every user ' +
        'on it; a wildcard does so for every host (or every host in the domain). On an Exchange server it does ' +
        'nothing for inbound Monosync connections.',
      saferAlternative:
        'connect by FQDN with Kerberos (no TrustedHosts needed), or list the exact hosts on the Monosync side ' +
        '(policy.trustedHosts: { applyOn: monosync, value: this-server })',
    },
    assess(before, after) {
      const had = trustedHostsList(before.value);
      const added = trustedHostsList(after.value).filter((e) => !had.includes(e));
      return added.some((e) => e.includes('*')) ? { label: 'TrustedHosts', from: before.value, to: after.value } : null;
    },
  },
  hooks: {
    skippedByPolicy: (context) => context.policy.trustedHosts.applyOn === 'skip',
    target: (server, context) =>
      context.policy.trustedHosts.applyOn === 'monosync'
        ? { host: 'worker', onBehalfOf: server.fqdn }
        : { host: 'exchange', fqdn: server.fqdn },
    drift: (before, server, context) => unrequestedWildcard(before.value, trustedHostsEntries(context, server)),
  },
});
