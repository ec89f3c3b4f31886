/**
 * Set-MonosyncFirewallRule: one named inbound rule with exactly the requested ports and remote
 * addresses, widened or narrowed in place (Set-NetFirewallRule) rather than recreated.
 *
 * As the script reports it (checked by contract.test.ts): local ports sorted, an empty list meaning
 * LocalPort Any; the rule is written even when Windows Firewall is off or a GPO ignores local rules (a
 * warning says so); a rollback writes back only a saved state Windows could have reported.
 */
import type { z } from 'zod';
import type { LabFirewallRule, LabHost } from '../../lab/model';
import { fail, runStateStep, type Handler, type HandlerContext, type StateStep } from '../../lab/state-step';
import { BUILT_IN_HTTP_RULE_NAME, builtInRuleWiderScope, MONOSYNC_RULE_NAME, step } from './step';

type State = z.infer<typeof step.state>;
type Params = z.output<typeof step.params>;
type Rule = NonNullable<State['rule']>;

const PROFILE_ORDER = ['Domain', 'Private', 'Public'];

/** A rule's profiles as Windows reports them: in its order, or Any for every profile. */
function reportedProfiles(rule: LabFirewallRule): string[] {
  const named = PROFILE_ORDER.filter((p) => (rule.profiles ?? []).some((q) => q.toLowerCase() === p.toLowerCase()));
  return named.length > 0 ? named : ['Any'];
}

const findRule = (host: LabHost, name: string) =>
  host.firewall.rules.find((r) => r.name.toLowerCase() === name.toLowerCase());

const hostOf = (ctx: HandlerContext): LabHost => ctx.host(ctx.subject);

const sortedPorts = (ports: readonly number[]) => [...ports].sort((a, b) => a - b);

/**
 * This step's state (also the preflight snapshot's firewall part): the Monosync rule with its profiles, and
 * Windows' own WINRM-HTTP-In-TCP as found.
 */
export function readFirewallStep(host: LabHost, ruleName = MONOSYNC_RULE_NAME): State {
  const rule = findRule(host, ruleName);
  const builtIn = findRule(host, BUILT_IN_HTTP_RULE_NAME);
  return {
    rule: rule
      ? {
          name: rule.name,
          enabled: rule.enabled,
          localPorts: sortedPorts(rule.localPorts),
          remoteAddresses: [...rule.remoteAddresses],
          profiles: reportedProfiles(rule),
        }
      : null,
    builtInHttpRule: builtIn
      ? { enabled: builtIn.enabled, remoteAddresses: [...builtIn.remoteAddresses], profiles: reportedProfiles(builtIn) }
      : null,
  };
}

const sameSet = (a: readonly (string | number)[], b: readonly (string | number)[]) => {
  const norm = (v: readonly (string | number)[]) => [...new Set(v.map((x) => String(x).toLowerCase()))].sort();
  return JSON.stringify(norm(a)) === JSON.stringify(norm(b));
};

/** In their order, each once (case-insensitive, as the script compares them). */
function uniqueAddresses(addresses: readonly string[]): string[] {
  const seen = new Set<string>();
  return addresses.filter((a) => !seen.has(a.toLowerCase()) && seen.add(a.toLowerCase()));
}

const uniquePorts = (ports: readonly number[]) => sortedPorts([...new Set(ports)]);

function matches(rule: Rule | null, wanted: Omit<Rule, 'name'>): boolean {
  return (
    rule !== null &&
    rule.enabled === wanted.enabled &&
    sameSet(rule.localPorts, wanted.localPorts) &&
    sameSet(rule.remoteAddresses, wanted.remoteAddresses) &&
    sameSet(rule.profiles, wanted.profiles)
  );
}

/**
 * A remote address as Windows reports it (an address, subnet or range, Any or a keyword of
 * New-NetFirewallRule -RemoteAddress): what a saved state may hold. The script holds the same pattern.
 */
const SAVED_ADDRESS =
  /^(?:[0-9A-Fa-f.:]{2,45}(?:\/[0-9.]{1,15})?(?:-[0-9A-Fa-f.:]{2,45})?|(?:Any|LocalSubnet|DNS|DHCP|WINS|DefaultGateway|Internet|Intranet|IntranetRemoteAccess|PlayToDevice)[46]?)$/;

/** Why a saved rule cannot be written back, or null when it can. */
function savedRuleProblem(rule: Rule, ruleName: string): string | null {
  if (rule.name.toLowerCase() !== ruleName.toLowerCase()) return `rollbackTo.rule.name must be ${ruleName}`;
  if (!rule.localPorts.every((p) => Number.isInteger(p) && p >= 1 && p <= 65535)) {
    return 'rollbackTo.rule.localPorts must be an array of port numbers';
  }
  if (rule.remoteAddresses.length === 0) {
    return 'rollbackTo.rule.remoteAddresses is empty: Windows reports Any, never no address';
  }
  if (!rule.remoteAddresses.every((a) => SAVED_ADDRESS.test(a))) {
    return 'rollbackTo.rule.remoteAddresses holds a value that is not a firewall address';
  }
  const anyAlone = rule.profiles.length === 1 && rule.profiles[0].toLowerCase() === 'any';
  if (!anyAlone && (rule.profiles.length === 0 || !rule.profiles.every((p) => PROFILE_ORDER.includes(p)))) {
    return 'rollbackTo.rule.profiles may hold only Domain, Private and Public, or Any alone';
  }
  return null;
}

/** Saved profiles as the script writes them back: Any alone, or the named ones in Windows' order. */
function savedProfiles(profiles: readonly string[]): string[] {
  if (profiles.length === 1 && profiles[0].toLowerCase() === 'any') return ['Any'];
  return PROFILE_ORDER.filter((p) => profiles.includes(p));
}

function warningsFor(host: LabHost, monosync: readonly string[] = []): string[] {
  const warnings: string[] = [];
  const builtIn = readFirewallStep(host).builtInHttpRule;
  const wider = builtInRuleWiderScope(builtIn, monosync);
  if (wider) warnings.push(wider);
  if (!host.firewall.enabled) warnings.push('Windows Firewall is off: the rule applies once it is on');
  if (!host.firewall.localRulesApply) {
    warnings.push('a GPO sets AllowLocalFirewallRules False: the local rule has no effect until the GPO allows it');
  }
  return warnings;
}

const model: StateStep<State, Params> = {
  module: step,
  read: (ctx, params) => readFirewallStep(hostOf(ctx), params.RuleName),
  desire(ctx, params, before) {
    const wanted: Rule = {
      name: params.RuleName,
      enabled: true,
      localPorts: uniquePorts(params.Ports),
      remoteAddresses: uniqueAddresses(params.RemoteAddresses),
      profiles: PROFILE_ORDER.filter((p) => (params.Profiles as readonly string[]).includes(p)),
    };
    return {
      state: matches(before.rule, wanted) ? before : { ...before, rule: wanted },
      warnings: warningsFor(hostOf(ctx), params.RemoteAddresses),
    };
  },
  write(ctx, params, _from, to) {
    const host = hostOf(ctx);
    const isOurs = (name: string) => name.toLowerCase() === params.RuleName.toLowerCase();
    if (!to.rule) {
      host.firewall.rules = host.firewall.rules.filter((r) => !isOurs(r.name));
      return;
    }
    const rule: LabFirewallRule = {
      ...to.rule,
      localPorts: [...to.rule.localPorts],
      remoteAddresses: [...to.rule.remoteAddresses],
      // Any is every profile: the lab leaves the list out, as the rules Windows ships do.
      ...(to.rule.profiles[0] === 'Any' ? { profiles: undefined } : { profiles: [...to.rule.profiles] }),
    };
    if (rule.profiles === undefined) delete rule.profiles;
    const index = host.firewall.rules.findIndex((r) => isOurs(r.name));
    // Set-NetFirewallRule changes the rule in place: its name stays as it is.
    if (index >= 0) host.firewall.rules[index] = { ...rule, name: host.firewall.rules[index].name };
    else host.firewall.rules.push(rule);
  },
  // Only what Windows could have reported is written back; a rule that already matches the saved one as
  // sets (order, duplicates and case aside) is left alone, as the script does.
  restore(ctx, params, current, target) {
    const warnings = warningsFor(hostOf(ctx), params.RemoteAddresses);
    if (target.rule === null) return { state: { ...current, rule: null }, warnings };
    const problem = savedRuleProblem(target.rule, params.RuleName);
    if (problem) return fail('InvalidInput', `${step.definition.script} -Mode rollback: ${problem}`);
    if (matches(current.rule, target.rule)) return { state: current, warnings };
    const rule: Rule = {
      name: current.rule?.name ?? params.RuleName,
      enabled: target.rule.enabled,
      localPorts: uniquePorts(target.rule.localPorts),
      remoteAddresses: uniqueAddresses(target.rule.remoteAddresses),
      profiles: savedProfiles(target.rule.profiles),
    };
    return { state: { ...current, rule }, warnings };
  },
};

export const openFirewallLab: Handler = (ctx) => runStateStep(model, ctx);
