/**
 * Grant-RemoteManagement: the service account in the local group S-1-5-32-580, whatever the group is
 * called on this server's language; the member is matched by SID, so CORP\x and x@corp.example agree.
 */
import type { ScriptParams } from '../../domain/scripts';
import { STEP_STATE_SCHEMAS, type StepState } from '../../domain/steps';
import { accountSid, downLevelName, REMOTE_MANAGEMENT_USERS_SID } from '../identity';
import { fail, paramsOf, runStateStep, subjectFqdn, type Handler, type StateStep } from './kit';
import { readRemoteManagement } from './readers';

type State = StepState<'grantRemoteManagement'>;
type Params = ScriptParams<'Grant-RemoteManagement'>;

const step: StateStep<State, Params> = {
  script: 'Grant-RemoteManagement',
  schema: STEP_STATE_SCHEMAS.grantRemoteManagement,
  params: (ctx) => paramsOf(ctx, 'Grant-RemoteManagement'),
  read(ctx, params) {
    const host = ctx.host(subjectFqdn(ctx.call) ?? '');
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
    const group = ctx.host(subjectFqdn(ctx.call) ?? '').remoteManagementUsers;
    const sid = accountSid(params.Member);
    if (to.member && !group.members.some((m) => m.sid === sid)) {
      group.members.push({ sid, account: downLevelName(params.Member) });
    }
    if (!to.member) group.members = group.members.filter((m) => m.sid !== sid);
  },
  restore: (_ctx, _params, current, target) => ({ state: { ...current, member: target.member } }),
};

export const grantRemoteManagement: Handler = (ctx) => runStateStep(step, ctx);
