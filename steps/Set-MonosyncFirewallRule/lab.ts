/**
 * Set-MonosyncFirewallRule: one named inbound rule with exactly the requested ports and remote
 * addresses, widened or narrowed in place (Set-NetFirewallRule) rather than recreated.
 */
import type { z } from 'zod';
import type { LabHost } from '../../lab/model';
import { runStateStep, type Handler, type HandlerContext, type StateStep } from '../../lab/state-step';
import { MONOSYNC_RULE_NAME, step } from './step';

type State = z.infer<typeof step.state>;
type Params = z.output<typeof step.params>;
type Rule = NonNullable<State['rule']>;

const hostOf = (ctx: HandlerContext): LabHost => ctx.host(ctx.subject);

export function readFirewall(host: LabHost, ruleName = MONOSYNC_RULE_NAME): State {
  const rule = host.firewall.rules.find((r) => r.name.toLowerCase() === ruleName.toLowerCase());
  if (!rule) return { rule: null };
  return {
    rule: {
      name: rule.name,
      enabled: rule.enabled,
      localPorts: [...rule.localPorts],
      remoteAddresses: [...rule.remoteAddresses],
    },
  };
}

const sameSet = (a: readonly (string | number)[], b: readonly (string | number)[]) => {
  const norm = (v: readonly (string | number)[]) => [...new Set(v.map((x) => String(x).toLowerCase()))].sort();
  return JSON.stringify(norm(a)) === JSON.stringify(norm(b));
};

function matches(rule: Rule | null, wanted: Rule): boolean {
  return (
    rule !== null &&
    rule.enabled &&
    sameSet(rule.localPorts, wanted.localPorts) &&
    sameSet(rule.remoteAddresses, wanted.remoteAddresses)
  );
}

const model: StateStep<State, Params> = {
  module: step,
  read: (ctx, params) => readFirewall(hostOf(ctx), params.RuleName),
  desire(ctx, params, before) {
    const wanted: Rule = {
      name: params.RuleName,
      enabled: true,
      localPorts: [...new Set<number>(params.Ports)].sort((a, b) => a - b),
      remoteAddresses: [...new Set<string>(params.RemoteAddresses)],
    };
    const host = hostOf(ctx);
    const warnings = host.firewall.localRulesApply
      ? []
      : ['a GPO sets AllowLocalFirewallRules False: the local rule has no effect until the GPO allows it'];
    return { state: matches(before.rule, wanted) ? before : { rule: wanted }, warnings };
  },
  write(ctx, params, _from, to) {
    const host = hostOf(ctx);
    const isOurs = (name: string) => name.toLowerCase() === params.RuleName.toLowerCase();
    if (!to.rule) {
      host.firewall.rules = host.firewall.rules.filter((r) => !isOurs(r.name));
      return;
    }
    const rule = { ...to.rule, localPorts: [...to.rule.localPorts], remoteAddresses: [...to.rule.remoteAddresses] };
    const index = host.firewall.rules.findIndex((r) => isOurs(r.name));
    if (index >= 0) host.firewall.rules[index] = rule;
    else host.firewall.rules.push(rule);
  },
};

export const openFirewallLab: Handler = (ctx) => runStateStep(model, ctx);
