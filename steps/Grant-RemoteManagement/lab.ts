/**
 * Grant-RemoteManagement: the service account in the local group S-1-5-32-580, whatever the group is
 * called on this server's language; the member is matched by SID, so CORP\x and x@corp.example agree.
 */
import type { z } from 'zod';
import { accountSid, downLevelName, REMOTE_MANAGEMENT_USERS_SID } from '../../lab/identity';
import type { LabHost } from '../../lab/model';
import { fail, runStateStep, type Handler, type StateStep } from '../../lab/state-step';
import { step } from './step';

type State = z.infer<typeof step.state>;
type Params = z.output<typeof step.params>;

export function readRemoteManagement(host: LabHost, account: string): State {
  const sid = accountSid(account);
  return {
    member: host.remoteManagementUsers.members.some((m) => m.sid === sid),
    groupName: host.remoteManagementUsers.groupName,
    endpointAllowsGroup: host.sessionConfiguration.allowsRemoteManagementUsers,
    networkDenied: host.sessionConfiguration.networkDenied,
  };
}

const model: StateStep<State, Params> = {
  module: step,
  read(ctx, params) {
    const host = ctx.host(ctx.subject);
    if (!host.domainJoined) {
      return fail('PrincipalNotFound', `Some or all identity references could not be translated: ${params.Member}.`, {
        class: 'precondition',
      });
    }
    return readRemoteManagement(host, params.Member);
  },
  desire(_ctx, _params, before) {
    const state = { ...before, member: true };
    const warnings: string[] = [];
    // The endpoint ACL is the customer's hardening decision: report it, never "fix" it.
    if (!before.endpointAllowsGroup) warnings.push('the Microsoft.PowerShell endpoint ACL does not allow the group');
    if (before.networkDenied) warnings.push('the endpoint denies NETWORK logons (Disable-PSRemoting was run)');
    return {
      state,
      compliant: before.member && before.endpointAllowsGroup && !before.networkDenied,
      evidence: { groupSid: REMOTE_MANAGEMENT_USERS_SID, groupName: before.groupName },
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
  },
  restore: (_ctx, _params, current, target) => ({ state: { ...current, member: target.member } }),
};

export const grantRemoteManagementLab: Handler = (ctx) => runStateStep(model, ctx);
