/** Manual step 4: an inbound firewall rule for WinRM from the Monosync servers only. */
import { z } from 'zod';
import { ipAddressSchema } from '../../domain/validators';
import { defineStep } from '../step-module';

export const MONOSYNC_RULE_NAME = 'Monosync-WinRM-In' as const;

export const firewallRuleSchema = z.object({
  name: z.string(),
  enabled: z.boolean(),
  localPorts: z.array(z.number()),
  remoteAddresses: z.array(z.string()),
});
export const firewallStateSchema = z.object({ rule: firewallRuleSchema.nullable() });

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
  state: firewallStateSchema,
  params: z.strictObject({
    RuleName: z.literal(MONOSYNC_RULE_NAME),
    Ports: z.array(z.union([z.literal(5985), z.literal(5986)])).min(1),
    RemoteAddresses: z.union([z.tuple([z.literal('Any')]), z.array(ipAddressSchema).min(1)]),
  }),
  paramsFor: (_server, context) => ({
    RuleName: MONOSYNC_RULE_NAME,
    Ports: context.policy.firewall.ports,
    RemoteAddresses: context.policy.firewall.sources === 'any' ? ['Any'] : context.monosyncServers,
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
  hooks: {},
});
