/**
 * Set-MonosyncFirewallRule: one named inbound rule with exactly the requested ports and remote
 * addresses, widened or narrowed in place (Set-NetFirewallRule) rather than recreated.
 */
import type { ScriptParams } from '../../domain/scripts';
import { STEP_STATE_SCHEMAS, type StepState } from '../../domain/steps';
import type { LabHost } from '../model';
import { paramsOf, runStateStep, subjectFqdn, type Handler, type HandlerContext, type StateStep } from './kit';
import { readFirewall } from './readers';

type State = StepState<'openFirewall'>;
type Params = ScriptParams<'Set-MonosyncFirewallRule'>;
type Rule = NonNullable<State['rule']>;

const hostOf = (ctx: HandlerContext): LabHost => ctx.host(subjectFqdn(ctx.call) ?? '');

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

const step: StateStep<State, Params> = {
  script: 'Set-MonosyncFirewallRule',
  schema: STEP_STATE_SCHEMAS.openFirewall,
  params: (ctx) => paramsOf(ctx, 'Set-MonosyncFirewallRule'),
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

export const setMonosyncFirewallRule: Handler = (ctx) => runStateStep(step, ctx);
