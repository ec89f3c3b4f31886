/**
 * Grant-RemoteManagement: the service account in the local group S-1-5-32-580, whatever the group is
 * called on this server's language; the member is matched by SID, so CORP\x and x@corp.example agree.
 * Checked against the script by contract.test.ts (the script through the seam bound to the same host).
 */
import type { z } from 'zod';
import { accountSid, downLevelName, REMOTE_MANAGEMENT_USERS_SID } from '../../lab/identity';
import type { LabHost } from '../../lab/model';
import { fail, runStateStep, type Handler, type StateStep } from '../../lab/state-step';
import { step } from './step';

type State = z.infer<typeof step.state>;
type Params = z.output<typeof step.params>;

/**
 * A saved groupName the script accepts back: the group's name in any language, alone or (as earlier
 * versions of the script saved it) behind its domain, `BUILTIN\Remote Management Users`.
 */
const SAVED_GROUP_NAME = /^(?:[\p{L}\p{M}\p{N}_.-]{1,64}\\)?[\p{L}\p{M}\p{N}_. -]{1,256}$/u;

export function readRemoteManagement(host: LabHost, account: string): State {
  const sid = accountSid(account);
  return {
    member: host.remoteManagementUsers.members.some((m) => m.sid === sid),
    groupName: host.remoteManagementUsers.groupName,
    endpointAllowsGroup: host.sessionConfiguration.allowsRemoteManagementUsers,
    networkDenied: host.sessionConfiguration.networkDenied,
  };
}

/** Whether a Restricted Groups entry lists the account, by SID ('*S-1-...') or by name, as the script checks. */
function policyLists(members: readonly string[], account: string): boolean {
  const wanted = [accountSid(account), downLevelName(account)].map((v) => v.toLowerCase());
  return members.some((m) => wanted.includes(m.replace(/^\*+/, '').toLowerCase()));
}

/** A change the Restricted Groups policy would undo at its next refresh, as the script words it. */
function restrictedGroupsFailure(host: LabHost, account: string, wantMember: boolean) {
  const group = host.remoteManagementUsers;
  const policy = group.restrictedBy;
  if (!policy || policyLists(policy.members, account) === wantMember) return null;
  const name = downLevelName(account);
  return fail(
    'PolicyControlled',
    wantMember
      ? `the members of ${group.groupName} are set by the Group Policy 'Restricted Groups' (${policy.gpo}), which does ` +
          `not list ${name}: a member added here is removed at the next policy refresh. Add ${name} to that ` +
          "Restricted Groups entry (or use Group Policy Preferences 'Local Users and Groups' with Update), then retry"
      : `the members of ${group.groupName} are set by the Group Policy 'Restricted Groups' (${policy.gpo}), which lists ` +
          `${name}: removing it here is undone at the next policy refresh. Remove ${name} from that entry, then retry`
  );
}

/** What the script records as evidence: the SIDs it acted on. */
function evidence(params: Params) {
  return { memberSid: accountSid(params.Member), groupSid: REMOTE_MANAGEMENT_USERS_SID };
}

const model: StateStep<State, Params> = {
  module: step,
  read(ctx, params) {
    const host = ctx.host(ctx.subject);
    if (host.isDomainController) {
      return fail(
        'DomainController',
        'this server is a domain controller: Remote Management Users is the domain-wide BUILTIN group here; change it deliberately, not from onboarding',
        { class: 'precondition' }
      );
    }
    if (!host.domainJoined) {
      return fail(
        'PrincipalNotFound',
        `this server is in no domain (an Edge Transport server?), so ${params.Member} cannot be resolved: grant the access by hand`,
        { class: 'precondition' }
      );
    }
    return readRemoteManagement(host, params.Member);
  },
  desire(ctx, params, before) {
    if (!before.member) {
      const refused = restrictedGroupsFailure(ctx.host(ctx.subject), params.Member, true);
      if (refused) return refused;
    }
    const state = { ...before, member: true };
    const warnings: string[] = [];
    // The endpoint ACL is the customer's hardening decision: report it, never "fix" it.
    if (!ctx.host(ctx.subject).sessionConfiguration.endpointsEnabled) {
      warnings.push('the Microsoft.PowerShell endpoint is disabled: run the Enable-Remoting step');
    }
    if (!before.endpointAllowsGroup) {
      warnings.push(
        'the Microsoft.PowerShell endpoint ACL does not admit Remote Management Users; fix the endpoint by hand (customer decision)'
      );
    }
    if (before.networkDenied) {
      warnings.push(
        'the Microsoft.PowerShell endpoint denies NETWORK logons (Disable-PSRemoting); run the Enable-Remoting step'
      );
    }
    return {
      state,
      compliant: before.member && before.endpointAllowsGroup && !before.networkDenied,
      evidence: evidence(params),
      warnings,
    };
  },
  write(ctx, params, _from, to) {
    const group = ctx.host(ctx.subject).remoteManagementUsers;
    const sid = accountSid(params.Member);
    if (to.member && !group.members.some((m) => m.sid === sid)) {
      group.members.push({ sid, account: downLevelName(params.Member) });
    }
    if (!to.member) group.members = group.members.filter((m) => m.sid !== sid);
    // The next Group Policy refresh puts a Restricted Groups membership back (the lab refreshes at once):
    // a change the script did not refuse first is undone, and only the verifying read finds out.
    const policy = group.restrictedBy;
    if (policy)
      group.members = group.members.filter((m) => m.sid !== sid || policyLists(policy.members, params.Member));
  },
  // Only the membership goes back; the endpoint is not this step's to change. A saved groupName no local
  // group can have is not a state this step saved, and is refused as the script refuses it.
  restore(ctx, params, current, target) {
    if (!SAVED_GROUP_NAME.test(target.groupName)) {
      return fail('InvalidInput', 'rollbackTo.groupName is not the name of a local group');
    }
    if (current.member !== target.member) {
      const refused = restrictedGroupsFailure(ctx.host(ctx.subject), params.Member, target.member);
      if (refused) return refused;
    }
    return { state: { ...current, member: target.member }, evidence: evidence(params) };
  },
};

export const grantRemoteManagementLab: Handler = (ctx) => runStateStep(model, ctx);
