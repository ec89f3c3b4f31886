/**
 * Manual step 4: an inbound firewall rule for WinRM from the Monosync servers only, on the Domain profile
 * (policy.firewall.profiles). Windows' own WINRM-HTTP-In-TCP rule is read and its wider scope reported,
 * never changed: it is the customer's.
 */
import type { z } from 'zod';
import { lazySchema } from '../../domain/lazy-schema';
import { FIREWALL_PROFILES } from '../../domain/fleet';
import { ipAddressSchema } from '../../domain/validators';
import { defineStep } from '../step-module';

export const MONOSYNC_RULE_NAME = 'Monosync-WinRM-In' as const;
/** The rule Enable-PSRemoting enables for 5985: Windows' own, reported here, never changed. */
export const BUILT_IN_HTTP_RULE_NAME = 'WINRM-HTTP-In-TCP' as const;

export const firewallRuleSchema = lazySchema((z) =>
  z.object({
    name: z.string(),
    enabled: z.boolean(),
    localPorts: z.array(z.number()),
    remoteAddresses: z.array(z.string()),
  })
);
/** Profiles as Windows reports them: Domain, Private, Public in that order, or Any. */
const reportedProfilesSchema = lazySchema((z) => z.array(z.string()));

export const builtInHttpRuleSchema = lazySchema((z) =>
  z.object({
    enabled: z.boolean(),
    remoteAddresses: z.array(z.string()),
    profiles: reportedProfilesSchema,
  })
);

/** This step's state (and the preflight snapshot's firewall part): the Monosync rule with its profiles, and Windows' own HTTP rule as found. */
export const openFirewallStateSchema = lazySchema((z) =>
  z.object({
    rule: firewallRuleSchema.extend({ profiles: reportedProfilesSchema }).nullable(),
    // Reported, never written back: a rollback's saved state may leave it out.
    builtInHttpRule: builtInHttpRuleSchema.nullable().optional(),
  })
);

/**
 * Windows' own WINRM-HTTP-In-TCP rule admitting more than the Monosync addresses: reported (the
 * envelope's warning; its state is `builtInHttpRule`), never changed. The script words it the same.
 */
export function builtInRuleWiderScope(
  rule: z.infer<typeof builtInHttpRuleSchema> | null | undefined,
  monosyncServers: readonly string[]
): string | null {
  if (!rule || !rule.enabled) return null;
  const wanted = monosyncServers.map((a) => a.toLowerCase());
  const wider = rule.remoteAddresses.filter((a) => !wanted.includes(a.toLowerCase()));
  if (wider.length === 0) return null;
  return (
    `Windows' own rule ${BUILT_IN_HTTP_RULE_NAME} admits WinRM over HTTP (5985) from ${wider.join(', ')} on the ` +
    `${rule.profiles.join(', ')} profile(s), wider than the Monosync servers; it is left as it is: narrow or ` +
    'disable it by hand or by GPO if only Monosync should connect'
  );
}

export const step = defineStep({
  definition: {
    id: 'openFirewall',
    title: 'Firewall: WinRM from the Monosync servers',
    short: 'firewall',
    manual: '4',
    script: 'Set-MonosyncFirewallRule',
    runsOn: 'exchange',
    readOnly: false,
    cutsConnection: false,
  },
  state: openFirewallStateSchema,
  params: lazySchema((z) =>
    z.strictObject({
      RuleName: z.literal(MONOSYNC_RULE_NAME),
      Ports: z.array(z.union([z.literal(5985), z.literal(5986)])).min(1),
      RemoteAddresses: z.union([z.tuple([z.literal('Any')]), z.array(ipAddressSchema).min(1)]),
      Profiles: z.array(z.enum(FIREWALL_PROFILES)).min(1),
    })
  ),
  paramsFor: (_server, context) => ({
    RuleName: MONOSYNC_RULE_NAME,
    Ports: context.policy.firewall.ports,
    RemoteAddresses: context.policy.firewall.sources === 'any' ? ['Any'] : context.monosyncServers,
    Profiles: context.policy.firewall.profiles,
  }),
  risk: {
    rule: {
      kind: 'firewall-wider-than-monosync',
      title: 'Firewall rule wider than the Monosync servers',
      reason: 'WinRM would accept connections from any address instead of only the Monosync servers.',
      saferAlternative: 'scope the rule to the listed Monosync addresses (policy.firewall.sources: monosync)',
    },
    assess(before, after, subject) {
      const wider = (after.rule?.remoteAddresses ?? []).filter(
        (a) => a.toLowerCase() === 'any' || !subject.monosyncServers.includes(a)
      );
      const was = before.rule?.remoteAddresses.join(',') ?? 'none';
      const now = after.rule?.remoteAddresses.join(',') ?? 'none';
      return wider.length > 0 && was !== now ? { label: 'firewall remote addresses', from: was, to: now } : null;
    },
  },
  // Windows' own rule's scope is reported in the envelope (state and warning), not as audit drift: a
  // correctly onboarded server keeps it, and the audit must not flag what onboarding may not change.
  hooks: {},
});
